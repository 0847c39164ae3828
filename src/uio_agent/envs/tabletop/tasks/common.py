"""Helpers shared by the part-2 tasks: hollow-base tests, free poses for prompt-only scenes, goal
checks that look at every goal (VIMA's per-task ``update_goals``), and level-default object lists."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from uio_agent.envs.tabletop.catalog import BASE_COLORS, LIGHT_TEXTURES, TEXTURES, ObjectSpec, TextureSpec
from uio_agent.envs.tabletop.scene import BOUNDS, ORACLE_SHAPE, PIX_SIZE
from uio_agent.envs.tabletop.tasks.base import Outcome, Task
from uio_agent.envs.tabletop.tasks.visual_manipulation import (
    DEFAULT_BASES,
    DEFAULT_DRAGGED,
    HOLLOW,
    in_hollow,
)
from uio_agent.envs.tabletop.world import pix_to_xy, sample_pixel

if TYPE_CHECKING:
    from uio_agent.envs.tabletop.env import TabletopEnv

#: VIMA's default dragged objects and bases of most suction tasks (every dragged shape, block first)
ALL_DRAGGED = DEFAULT_DRAGGED
ALL_BASES = DEFAULT_BASES
#: VIMA's ``TexturePedia.all_light_dark_entries()``: textures with a dark twin and the twins, in its
#: order (the plain colours in pairs, then the patterns in enum order).
LIGHT_DARK_TEXTURES = [v for c in BASE_COLORS if f"dark {c}" in TEXTURES for v in (c, f"dark {c}")] + [
    n
    for n, t in TEXTURES.items()
    if t.color_value is None and (n.startswith("dark ") or f"dark {n}" in TEXTURES)
]


def any_in_hollow(
    tests: Sequence[tuple[np.ndarray, np.ndarray]], hollows: Sequence[tuple[np.ndarray, np.ndarray]]
) -> bool:
    """VIMA's ``if_in_hollow_object``: any (xy, size) of ``tests`` inside any of ``hollows``."""
    return any(in_hollow(txy, tsz, hxy, hsz) for txy, tsz in tests for hxy, hsz in hollows)


def is_hollow(spec: ObjectSpec) -> bool:
    return spec.name in HOLLOW


def lighter(texture: TextureSpec) -> TextureSpec:
    """VIMA's ``find_lighter_variant``."""
    return TEXTURES[texture.name[5:]] if texture.name.startswith("dark ") else texture


def darker(texture: TextureSpec) -> TextureSpec:
    """VIMA's ``find_darker_variant`` (KeyError, as VIMA's enum lookup, when there is none)."""
    return texture if texture.name.startswith("dark ") else TEXTURES["dark " + texture.name]


def scene_pose(
    rng: np.random.Generator, size: np.ndarray, placed: list[tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, float] | None:
    """A free pose (xy, yaw) for an object of an image-only scene, drawn as VIMA's
    ``get_random_pose`` draws in its throw-away simulation (one free pixel, then the yaw); the
    objects already in the scene (``placed``: xy, size) cover discs of their half diagonal."""
    free = np.ones(ORACLE_SHAPE, dtype=np.uint8)
    rows = BOUNDS[1, 0] + np.arange(ORACLE_SHAPE[0]) * PIX_SIZE
    cols = BOUNDS[0, 0] + np.arange(ORACLE_SHAPE[1]) * PIX_SIZE
    for pxy, psz in placed:
        r = math.hypot(psz[0], psz[1]) / 2
        free[((rows[:, None] - pxy[1]) ** 2 + (cols[None, :] - pxy[0]) ** 2) < r * r] = 0
    free[0, :], free[:, 0], free[-1, :], free[:, -1] = 0, 0, 0, 0
    erode = round(math.hypot(size[0], size[1]) / PIX_SIZE)
    eroded = cv2.erode(free, np.ones((erode, erode), np.uint8))
    if eroded.sum() == 0:
        return None
    xy = pix_to_xy(*sample_pixel(eroded.astype(np.float32), rng))
    placed.append((xy, np.asarray(size)))
    return xy, float(rng.random() * 2 * math.pi)


def default_textures(light: bool = True) -> list[str]:
    return list(LIGHT_TEXTURES) if light else list(TEXTURES)


class AllGoalsTask(Task):
    """Tasks whose ``update_goals`` checks every goal each step (position only, VIMA's override)."""

    def update_goals(self, env: TabletopEnv, skip_oracle: bool = True) -> None:
        self.goals = [g for g in self.goals if not self._goal_met(env, g)]

    def workspace_outcome(self, env: TabletopEnv) -> Outcome:
        """Success when no goal is left, failure when a remaining goal object left the workspace."""
        if not self.goals:
            return Outcome(True, False)
        for goal in self.goals:
            for obj_id, _ in goal.objects:
                xy = env.world.pose(obj_id)[0][:2].astype(np.float32)
                if not (BOUNDS[0, 0] <= xy[0] <= BOUNDS[0, 1] and BOUNDS[1, 0] <= xy[1] <= BOUNDS[1, 1]):
                    return Outcome(False, True, "object_left_workspace")
        return Outcome(False, False)
