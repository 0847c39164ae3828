"""Pick-and-place stress trials of the suction primitive (the acceptance test of the engine).

A trial spawns one base and one dragged object at random collision-free poses (VIMA's sampler),
picks the object at a pixel of its oracle mask (as VIMA's oracle does) and places it on the base's
centre with a random yaw. It succeeds when the right object was gripped and it rests flat within
3 cm and 10° (modulo symmetry) of the requested pose, inside the workspace.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from uio_agent.envs.tabletop.catalog import OBJECTS, TEXTURES
from uio_agent.envs.tabletop.oracle import compose, invert
from uio_agent.envs.tabletop.world import World, pix_to_xy, sample_pixel

STRESS_DRAGGED = [n for n, s in OBJECTS.items() if not s.fixed and n != "shorter block"]
STRESS_BASES = [n for n, s in OBJECTS.items() if s.fixed]
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
