"""Stress trials of the primitives (the acceptance tests of the engine).

Suction: a trial spawns one base and one dragged object at random collision-free poses (VIMA's
sampler), picks the object at a pixel of its oracle mask (as VIMA's oracle does) and places it on
the base's centre with a random yaw. It succeeds when the right object was gripped and it rests
flat within 3 cm and 10° (modulo symmetry) of the requested pose, inside the workspace.

Push: a small block at a random pose is pushed from its centre toward a random point 10-30 cm away.
VIMA's blade stops 5 cm short of that point, so the block (its far face 3.25 cm short) ends near
``target - 3.25 cm`` plus its slide; a trial succeeds when the block stays upright, within 1.5 cm of
the push line and between 5 cm short of the target and 1 cm past it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from uio_agent.envs.tabletop.catalog import OBJECTS, TEXTURES, VISUAL_ONLY
from uio_agent.envs.tabletop.oracle import compose, invert
from uio_agent.envs.tabletop.world import World, pix_to_xy, sample_pixel

#: Suction objects (the sweeps' small block belongs to the spatula; zone and line hold nothing).
STRESS_DRAGGED = [n for n, s in OBJECTS.items() if not s.fixed and n not in ("shorter block", "small block")]
STRESS_BASES = [n for n, s in OBJECTS.items() if s.fixed and n not in VISUAL_ONLY]
POSITION_TOLERANCE = 0.03
YAW_TOLERANCE = math.radians(10)
TILT_TOLERANCE = math.radians(10)


@dataclass
class TrialResult:
    dragged: str
    base: str
    success: bool
    picked: bool
    position_error: float
    yaw_error: float
    tilt: float


def stress_world() -> World:
    return World({**{n: 1 for n in STRESS_DRAGGED}, **{n: 1 for n in STRESS_BASES}})


def run_trial(world: World, rng: np.random.Generator, dragged: str, base: str) -> TrialResult:
    world.clear()
    textures = list(TEXTURES.values())
    base_spec, spec = OBJECTS[base], OBJECTS[dragged]
    base_size = rng.uniform(base_spec.size_range.low, base_spec.size_range.high)
    base_pose = world.random_pose(base_size, rng)
    size = rng.uniform(spec.size_range.low, spec.size_range.high)
    assert base_pose is not None
    base_id = world.add_object(base_spec, textures[rng.choice(len(textures))], base_size, *base_pose)
    pose = world.random_pose(size, rng)
    if pose is None:  # the base left no room: resample the whole trial
        return run_trial(world, rng, dragged, base)
    obj_id = world.add_object(spec, textures[rng.choice(len(textures))], size, *pose)
    world.settle()
    mask = world.oracle_mask() == obj_id
    pick_xy = pix_to_xy(*sample_pixel(mask.astype(np.float32), rng))
    obj_pos, obj_yaw = world.pose(obj_id)
    base_pos, _ = world.pose(base_id)
    target_yaw = float(rng.uniform(-math.pi, math.pi))
    pick_in_obj = compose(invert((obj_pos[:2], obj_yaw)), (pick_xy, 0.0))
    place_xy, place_yaw = compose((base_pos[:2], target_yaw), pick_in_obj)
    picked = world.pick_place(pick_xy, 0.0, place_xy, place_yaw)
    world.settle()
    pos, yaw = world.pose(obj_id)
    yaw_err = 0.0  # ring (symmetry 0) and round (None) look the same at every angle
    if spec.symmetry:
        yaw_err = abs(yaw - target_yaw) % spec.symmetry
        yaw_err = min(yaw_err, spec.symmetry - yaw_err)
    q = world.quat_xyzw(obj_id)
    tilt = math.acos(max(-1.0, min(1.0, 1 - 2 * (q[0] ** 2 + q[1] ** 2))))
    err = float(np.linalg.norm(pos[:2] - base_pos[:2]))
    ok = picked == obj_id and err < POSITION_TOLERANCE and yaw_err < YAW_TOLERANCE and tilt < TILT_TOLERANCE
    return TrialResult(dragged, base, ok, picked == obj_id, err, yaw_err, tilt)


@dataclass
class PushResult:
    success: bool
    lateral_error: float
    along_error: float  # signed, from the target (negative: short of it)
    tilt: float


def push_world() -> World:
    return World({"small block": 1}, end_effector="spatula")


def run_push_trial(world: World, rng: np.random.Generator) -> PushResult:
    world.clear()
    spec = OBJECTS["small block"]
    size = np.asarray(spec.size_range.low)
    start = rng.uniform([0.33, -0.4], [0.67, 0.4])
    obj_id = world.add_object(spec, TEXTURES["red"], size, start, float(rng.uniform(0, 2 * math.pi)))
    world.settle()
    for _ in range(100):
        angle, dist = float(rng.uniform(-math.pi, math.pi)), float(rng.uniform(0.1, 0.3))
        target = start + dist * np.array([math.cos(angle), math.sin(angle)])
        if 0.27 <= target[0] <= 0.73 and -0.48 <= target[1] <= 0.48:
            break
    direction = (target - start) / np.linalg.norm(target - start)
    world.push(start, target)
    world.settle()
    pos = world.pose(obj_id)[0][:2]
    offset = pos - target
    along = float(offset @ direction)
    lateral = abs(float(offset @ np.array([-direction[1], direction[0]])))
    q = world.quat_xyzw(obj_id)
    tilt = math.acos(max(-1.0, min(1.0, 1 - 2 * (q[0] ** 2 + q[1] ** 2))))
    # a cube resting on any face is "upright" (tilt near 0 or 90 deg)
    tilt = min(tilt % (math.pi / 2), math.pi / 2 - tilt % (math.pi / 2))
    ok = lateral < 0.015 and -0.05 < along < 0.01 and tilt < TILT_TOLERANCE
    return PushResult(ok, lateral, along, tilt)
