"""Discrete navigation actions as pose updates (shared by the envs, their oracles and datasets): Habitat's
(sliding, partial moves) and THOR's MoveAhead (all or nothing)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from uio_agent.envs.nav.embodiment import Embodiment
from uio_agent.envs.nav.frames import forward_vector
from uio_agent.envs.nav.geometry import FreeSpace

STOP, MOVE_FORWARD, TURN_LEFT, TURN_RIGHT = 0, 1, 2, 3
ACTION_NAMES = ("STOP", "MOVE_FORWARD", "TURN_LEFT", "TURN_RIGHT")


def apply_action(
    space: FreeSpace, body: Embodiment, position: np.ndarray, yaw: float, action: int
) -> tuple[np.ndarray, float, bool]:
    """``(position, yaw, collided)`` after ``action``; STOP leaves the pose unchanged.

    MOVE_FORWARD translates ``forward_step`` along the agent's −z through :meth:`FreeSpace.step`;
    TURN_LEFT / TURN_RIGHT rotate by ±``turn_angle`` about +y (habitat-sim's default controls).
    """
    if action == MOVE_FORWARD:
        result = space.step(
            position, position + body.forward_step * forward_vector(yaw), sliding=body.allow_sliding
        )
        return result.position, yaw, result.collided
    if action in (TURN_LEFT, TURN_RIGHT):
        turn = math.radians(body.turn_angle)
        return position, math.remainder(yaw + (turn if action == TURN_LEFT else -turn), 2 * math.pi), False
    return position, yaw, False


def thor_move_ahead(
    space: FreeSpace, position: np.ndarray, yaw: float, step: float
) -> tuple[np.ndarray, bool]:
    """THOR's ``MoveAhead``: the whole ``step`` along the agent's forward, or no motion at all
    (``lastActionSuccess`` False) when the body would touch an obstacle or leave its island."""
    result = space.step(position, position + step * forward_vector(yaw), sliding=False)
    if result.collided:
        return position, False
    return result.position, True


def check_action(action: Any) -> int:
    """A PointNav action as a Python int in 0..3; anything else is a ``ValueError`` naming the actions."""
    value: Any = action
    if isinstance(action, np.ndarray):
        if action.shape != () or not np.issubdtype(action.dtype, np.integer):
            raise ValueError(
                f"PointNav action must be an integer scalar, got array {action.dtype}{action.shape}"
            )
        value = int(action)
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= int(value) <= 3:
        names = ", ".join(f"{i} {n}" for i, n in enumerate(ACTION_NAMES))
        raise ValueError(f"PointNav action must be an int in 0..3 ({names}), got {action!r}")
    return int(value)
