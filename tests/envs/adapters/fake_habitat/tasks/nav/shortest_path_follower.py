"""``ShortestPathFollower(sim, goal_radius, return_one_hot=)``: turn towards the goal, then walk; STOP
within the goal radius (the room is empty, so the straight line is the shortest path)."""

from __future__ import annotations

from typing import Any

from fake_habitat import TURN, pointgoal


class ShortestPathFollower:
    def __init__(self, sim: Any, goal_radius: float, return_one_hot: bool = True) -> None:
        if return_one_hot:
            raise ValueError("the fake follower only returns action ids (return_one_hot=False)")
        self._sim = sim
        self._radius = goal_radius

    def get_next_action(self, goal_pos: list[float]) -> int:
        rho, phi = pointgoal(self._sim.position, self._sim.yaw, goal_pos)
        if rho < self._radius:
            return 0
        if abs(phi) > TURN / 2 + 1e-6:
            return 2 if phi > 0 else 3
        return 1
