"""Shortest-path follower (habitat-lab's ``ShortestPathFollower``), the PointNav oracle.

The follower steers toward the first corner of the string-pulled geodesic path: it turns while the
corner is more than half a turn away and moves forward otherwise, and calls STOP once the geodesic
distance is below the success distance. After ``reset(options={"oracle": True})`` the env puts its
next action into ``info["oracle_action"]``, which ``agent.policy.OraclePolicy`` reads.
"""

from __future__ import annotations

import math

import numpy as np

from uio_agent.envs.nav.embodiment import Embodiment
from uio_agent.envs.nav.frames import wrap_angle, yaw_towards
from uio_agent.envs.nav.geometry import DistanceField
from uio_agent.envs.nav.motion import MOVE_FORWARD, STOP, TURN_LEFT, TURN_RIGHT, apply_action


class ShortestPathFollower:
    """Greedy discrete follower of the geodesic to one goal (stateful: one per episode)."""

    def __init__(self, field: DistanceField, body: Embodiment) -> None:
        self.field = field
        self.body = body
        self.turn = math.radians(body.turn_angle)
        # keep the straight segments a little off the obstacles: a heading within half a turn of the
        # corner drifts sideways by up to forward_step·sin(turn/2) per step
        self.margin = 0.02 + body.forward_step * math.sin(self.turn / 2)
        self._committed: float | None = None  # heading chosen by the blocked-step search

    def waypoint(self, position: np.ndarray) -> np.ndarray:
        """First corner of the string-pulled path: the last descent point still in straight sight."""
        path = self.field.descend(position)
        if not path:
            return self.field.goal
        space = self.field.space
        # near a wall the start itself lacks the margin: ask only for what the start has
        margin = min(self.margin, max(0.0, space.clearance(position) - space.radius - 1e-3))
        if space.segment_is_free(position, path[-1], margin):
            return path[-1]
        best = path[min(1, len(path) - 1)]
        for k in range(2, len(path), 2):
            if not space.segment_is_free(position, path[k], margin):
                break
            best = path[k]
        return best

    def _forward(self, position: np.ndarray, yaw: float) -> tuple[float, float]:
        """(displacement, geodesic distance after) of a simulated MOVE_FORWARD at ``yaw``."""
        after, _, _ = apply_action(self.field.space, self.body, position, yaw, MOVE_FORWARD)
        return float(np.hypot(*(after - position))), self.field.distance(after)

    def _turn_towards(self, error: float) -> int:
        return TURN_LEFT if error > 0 else TURN_RIGHT

    def next_action(self, position: np.ndarray, yaw: float) -> int:
        distance = self.field.distance(position)
        if distance < self.body.success_distance:
            return STOP
        if self._committed is not None:
            error = wrap_angle(self._committed - yaw)
            if abs(error) > 1e-6:
                return self._turn_towards(error)
            self._committed = None
            return MOVE_FORWARD
        target = self.waypoint(position)
        delta = target - position
        error = wrap_angle(yaw_towards(delta) - yaw) if float(np.hypot(*delta)) > 1e-6 else 0.0
        if abs(error) > self.turn / 2 + 1e-6:
            return self._turn_towards(error)
        moved, after = self._forward(position, yaw)
        if moved >= 0.5 * self.body.forward_step and after < distance:
            return MOVE_FORWARD
        # blocked: among the headings whose forward step makes geodesic progress, take the best one;
        # with none (a dead end for this body), the heading that moves farthest
        n = math.ceil(math.pi / self.turn)
        steps = [(j, *self._forward(position, yaw + j * self.turn)) for j in range(-n, n + 1)]
        progress = [
            (after, abs(j), j) for j, moved, after in steps if after < distance - 1e-3 and moved > 1e-3
        ]
        escape = max((moved, -abs(j), j) for j, moved, _ in steps)
        k = min(progress)[2] if progress else escape[2]
        if k == 0:
            return MOVE_FORWARD
        self._committed = wrap_angle(yaw + k * self.turn)
        return self._turn_towards(k)
