"""AI2-THOR's ObjectNav vocabulary: actions, target types, step sizes and its coordinate frame.

Shared by the embedded ``ObjectNavEnv``, the AI2-THOR adapter and the ObjectNav codec, so the three
agree on one action order and one pose convention. Facts: ``docs/navigation.md`` (allenact's
``ObjectNavTask`` action order, ProcTHOR-RL's 30° steps, THOR's horizon clamp and 1.0 m visibility).

THOR's frame is Unity's, left-handed with y up: ``rotation.y`` is the yaw in degrees, clockwise seen
from above, 0 facing +z; ProcTHOR's house JSON is written in it. Our frame is habitat's, right-handed
with y up, yaw counter-clockwise and 0 facing −z. The proper (non-mirroring) map between them negates
z: Unity ``(x, y, z)`` is ours ``(x, y, −z)``, and THOR's ``rotation.y`` of θ degrees is our yaw −θ.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: allenact / ProcTHOR-RL ObjectNav action order: ``Discrete(6)`` ids index this tuple
ACTION_NAMES = ("MoveAhead", "RotateLeft", "RotateRight", "End", "LookUp", "LookDown")
MOVE_AHEAD, ROTATE_LEFT, ROTATE_RIGHT, END, LOOK_UP, LOOK_DOWN = range(6)

#: the 16 RoboTHOR / Habitat-2022 ObjectNav target types (procthor-rl ``config/target_object_types``)
TARGET_TYPES = (
    "AlarmClock",
    "Apple",
    "BaseballBat",
    "BasketBall",
    "Bed",
    "Bowl",
    "Chair",
    "GarbageCan",
    "HousePlant",
    "Laptop",
    "Mug",
    "Sofa",
    "SprayBottle",
    "Television",
    "Toilet",
    "Vase",
)

GRID_SIZE = 0.25  # MoveAhead, metres
ROTATE_DEGREES = 30.0  # RotateLeft / RotateRight
LOOK_DEGREES = 30.0  # LookUp / LookDown
#: THOR clamps ``cameraHorizon`` (positive = looking down) to this range, degrees
HORIZON_RANGE = (-30.0, 60.0)
VISIBILITY_DISTANCE = 1.0  # metres, ProcTHOR-RL and the RoboTHOR challenge
MAX_EPISODE_STEPS = 500


def check_action(action: Any) -> int:
    """An ObjectNav action as a Python int in 0..5; anything else is a ``ValueError`` naming the actions."""
    value: Any = action
    if isinstance(action, np.ndarray):
        if action.shape != () or not np.issubdtype(action.dtype, np.integer):
            raise ValueError(
                f"ObjectNav action must be an integer scalar, got array {action.dtype}{action.shape}"
            )
        value = int(action)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not 0 <= int(value) < len(ACTION_NAMES)
    ):
        names = ", ".join(f"{i} {n}" for i, n in enumerate(ACTION_NAMES))
        raise ValueError(f"ObjectNav action must be an int in 0..5 ({names}), got {action!r}")
    return int(value)


def unity_to_ours(x: float, y: float, z: float) -> tuple[float, float, float]:
    """A Unity / house-JSON point in our right-handed frame (z negated)."""
    return float(x), float(y), -float(z)


def ours_to_unity(x: float, y: float, z: float) -> tuple[float, float, float]:
    """A point of our frame in Unity's (z negated; the map is its own inverse)."""
    return float(x), float(y), -float(z)


def thor_yaw(yaw: float) -> float:
    """THOR's ``rotation.y`` in degrees [0, 360) for our counter-clockwise yaw in radians."""
    return (-math.degrees(yaw)) % 360.0


def yaw_from_thor(rotation_y: float) -> float:
    """Our yaw in radians, wrapped to (−π, π], for THOR's ``rotation.y`` in degrees."""
    wrapped = math.remainder(math.radians(-rotation_y), 2 * math.pi)
    return math.pi if wrapped == -math.pi else wrapped


def clamp_horizon(horizon: float) -> float:
    """``cameraHorizon`` clamped as THOR does after LookUp / LookDown."""
    return min(max(horizon, HORIZON_RANGE[0]), HORIZON_RANGE[1])
