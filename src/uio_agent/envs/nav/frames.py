"""Pose conventions: Habitat's frame (y up, the agent faces −z, yaw about +y, turn left = +yaw).

Positions on the floor are ``(x, z)`` pairs in the house JSON's coordinates; exported 3-D positions
are ``[x, 0.0, z]`` (y is the floor height, as habitat reports the agent's base on the navmesh).
"""

from __future__ import annotations

import math

import numpy as np


def forward_vector(yaw: float) -> np.ndarray:
    """Unit ``(x, z)`` direction the agent faces at ``yaw`` radians: ``(-sin yaw, -cos yaw)``."""
    return np.array([-math.sin(yaw), -math.cos(yaw)])


def yaw_towards(direction: np.ndarray) -> float:
    """The yaw whose forward vector points along ``direction`` (x, z)."""
    return math.atan2(-float(direction[0]), -float(direction[1]))


def wrap_angle(angle: float) -> float:
    """Angle in radians wrapped to (−π, π]."""
    wrapped = math.remainder(angle, 2 * math.pi)
    return math.pi if wrapped == -math.pi else wrapped


def yaw_to_quaternion(yaw: float) -> list[float]:
    """Habitat's ``[x, y, z, w]`` rotation about +y (what the PointNav generator writes)."""
    return [0.0, math.sin(yaw / 2), 0.0, math.cos(yaw / 2)]


def quaternion_to_yaw(q: list[float] | tuple[float, ...]) -> float:
    """Yaw about +y of an ``[x, y, z, w]`` quaternion (the heading of its −z axis)."""
    x, y, z, w = (float(v) for v in q)
    norm = math.sqrt(x * x + y * y + z * z + w * w)
    if norm < 1e-9:
        raise ValueError(f"rotation {list(q)} is not a unit quaternion")
    x, y, z, w = x / norm, y / norm, z / norm, w / norm
    # rotated −z axis: R @ (0, 0, −1)
    fx = -(2 * (x * z + w * y))
    fz = -(1 - 2 * (x * x + y * y))
    return yaw_towards(np.array([fx, fz]))


def pointgoal_polar(position: np.ndarray, yaw: float, goal: np.ndarray) -> np.ndarray:
    """habitat-lab's ``pointgoal_with_gps_compass``: ``[rho, -phi]``, positive angle = goal to the left."""
    v = np.asarray(goal, dtype=np.float64) - np.asarray(position, dtype=np.float64)
    # world vector into the agent frame (inverse yaw rotation about +y)
    right = math.cos(yaw) * v[0] - math.sin(yaw) * v[1]
    forward = -(math.sin(yaw) * v[0] + math.cos(yaw) * v[1])
    rho = math.hypot(forward, right)
    phi = math.atan2(right, forward)
    return np.array([rho, -phi], dtype=np.float32)
