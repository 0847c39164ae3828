"""VIMA's scripted oracle: pick a visible pixel of the next goal object, place it at its target.

It reads privileged state (true poses and the top-down oracle mask). By default the pick pixel is
drawn from the object's visible mask with the task RNG, as VIMA does (deterministic per seed);
``pick_point="interior"`` picks the mask's deepest pixel instead (farthest from its edge), which
gives cleaner demonstrations.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np

from uio_agent.envs.tabletop.world import pix_to_xy, sample_pixel

if TYPE_CHECKING:
    from uio_agent.envs.tabletop.env import TabletopEnv

PickPoint = Literal["sample", "interior"]


def compose(a: tuple[np.ndarray, float], b: tuple[np.ndarray, float]) -> tuple[np.ndarray, float]:
    """Planar pose product a * b (xy, yaw)."""
    c, s = math.cos(a[1]), math.sin(a[1])
    return a[0] + np.array([c * b[0][0] - s * b[0][1], s * b[0][0] + c * b[0][1]]), a[1] + b[1]


def invert(a: tuple[np.ndarray, float]) -> tuple[np.ndarray, float]:
    c, s = math.cos(a[1]), math.sin(a[1])
    x, y = a[0]
    return np.array([-(c * x + s * y), s * x - c * y]), -a[1]


def _yaw_quat_xyzw(yaw: float) -> np.ndarray:
    return np.array([0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)], dtype=np.float32)


class Oracle:
    """``act(obs)`` returns VIMA's four action arrays (float32), or None when the object is not visible."""

    def __init__(self, env: TabletopEnv, pick_point: PickPoint | None = None) -> None:
        self.env = env
        self.pick_point: PickPoint = pick_point or env.oracle_pick_point
        if self.pick_point not in ("sample", "interior"):
            raise ValueError(f"pick_point must be 'sample' or 'interior', got {self.pick_point!r}")

    def act(self, obs: object = None) -> dict[str, np.ndarray] | None:
        del obs  # the oracle is privileged: it reads the simulator, not the observation
        task, world = self.env.task, self.env.world
        if not task.goals:
            return None
        goal = task.goals[0]
        # Objects already at a target are skipped; the others go farthest-from-target first (VIMA's order).
        candidates = []
        for obj_id, symmetry in goal.objects:
            if any(task.is_match(self.env, obj_id, t, symmetry) for t in goal.targets):
                continue
            pos, _ = world.pose(obj_id)
            dists = [float(np.linalg.norm(np.float32(t[0]) - np.float32(pos))) for t in goal.targets]
            k = int(np.argmin(dists))
            candidates.append((dists[k], obj_id, goal.targets[k]))
        if not candidates:
            return None
        candidates.sort(key=lambda c: -c[0])
        mask = world.oracle_mask()
        visible = [(obj_id, target) for _, obj_id, target in candidates if (mask == obj_id).any()]
        if not visible:
            return None
        obj_id, target = visible[0]
        pick_mask = mask == obj_id
        if self.pick_point == "interior":
            depth = cv2.distanceTransform(np.pad(pick_mask.astype(np.uint8), 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
            u, v = np.unravel_index(int(np.argmax(depth)), depth.shape)
            pick_xy = pix_to_xy(int(u), int(v))
        else:
            pick_xy = pix_to_xy(*sample_pixel(pick_mask.astype(np.float32), task.rng))
        pick = (pick_xy, 0.0)
        obj_pos, obj_yaw = world.pose(obj_id)
        # place = target * (obj^-1 * pick): the object lands on the target with the cup's offset kept.
        pick_in_obj = compose(invert((obj_pos[:2], obj_yaw)), pick)
        place_xy, place_yaw = compose((np.asarray(target[0][:2], dtype=float), target[1]), pick_in_obj)
        if not goal.rotations:
            place_yaw = 0.0
        return {
            "pose0_position": pick_xy.astype(np.float32),
            "pose0_rotation": _yaw_quat_xyzw(0.0),
            "pose1_position": place_xy.astype(np.float32),
            "pose1_rotation": _yaw_quat_xyzw(place_yaw),
        }
