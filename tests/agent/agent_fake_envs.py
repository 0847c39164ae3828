"""Small deterministic environments for testing the episode runner without a simulator."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from uio_agent.envs.names import EnvName


class CountingEnv(gym.Env):
    """Succeeds when the action equals the number of steps taken so far; raises on demand.

    The task name picks the behaviour: ``ok`` (succeed at step 2 with action 1 then 2), ``raise_reset``
    (reset raises for odd seeds), ``raise_step`` (step raises at step 2)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.observation_space = gym.spaces.Dict({"count": gym.spaces.Box(0, 100, (1,), np.float32)})
        self.action_space = gym.spaces.Box(0, 100, (1,), np.float32)
        self.count = 0
        self.seed_used: int | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        if self.mode == "raise_reset" and seed is not None and seed % 2:
            raise RuntimeError(f"cannot place objects for seed {seed}")
        self.count, self.seed_used = 0, seed
        return {"count": np.array([0], np.float32)}, {"prompt": f"count for seed {seed}", "success": False}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self.count += 1
        if self.mode == "raise_step" and self.count == 2:
            raise ValueError("simulator exploded")
        success = self.count == 2 and float(np.asarray(action)[0]) == 2.0
        truncated = not success and self.count >= 3
        info = {"success": success, "failure": False}
        return {"count": np.array([self.count], np.float32)}, 0.0, success, truncated, info


def make_counting(name: EnvName, **kwargs: Any) -> CountingEnv:
    return CountingEnv(name.task or "ok")


class FakeObjectNavEnv(gym.Env):
    """``ObjectNavEnv``'s interface on an empty 6 x 6 m floor, for the policy side without a renderer.

    Discrete(6) in THOR's order; observations ``rgb`` (a pattern of the pose), ``depth`` (metres) and the
    target category; THOR-shaped ``info`` in Unity's frame. The agent starts at the origin facing a
    seeded direction; an Apple lies 1.5-3 m away on the start's +z axis. The Apple is visible within
    1.0 m and 45° of the heading; End while it is visible succeeds. SPL uses the straight-line distance
    to the visibility radius. ``oracle()`` turns towards the Apple, walks, and ends when it is visible.
    """

    size = (24, 32)

    def __init__(self, max_episode_steps: int = 500) -> None:
        h, w = self.size
        self.observation_space = gym.spaces.Dict(
            {
                "rgb": gym.spaces.Box(0, 255, (h, w, 3), np.uint8),
                "depth": gym.spaces.Box(0.0, np.inf, (h, w, 1), np.float32),
                "object_type": gym.spaces.Text(max_length=32),
            }
        )
        self.action_space = gym.spaces.Discrete(6)
        self.max_episode_steps = max_episode_steps

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        rng = np.random.default_rng(seed)
        self.x, self.z = 0.0, 0.0
        self.yaw = float(rng.choice([0.0, 90.0, 180.0, 270.0]))  # THOR rotation.y, degrees
        self.horizon = 30.0
        self.target = (0.0, 1.5 + 0.25 * float(rng.integers(0, 7)))
        self.steps, self.path_length, self.ended = 0, 0.0, False
        self.optimal = self._distance() - 1.0
        return self._obs(), self._info(True, False)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        action = int(action)
        moved = True
        if action == 0:
            x = self.x + 0.25 * math.sin(math.radians(self.yaw))
            z = self.z + 0.25 * math.cos(math.radians(self.yaw))
            moved = max(abs(x), abs(z)) <= 3.0
            if moved:
                self.path_length += math.hypot(x - self.x, z - self.z)
                self.x, self.z = x, z
        elif action in (1, 2):
            self.yaw = (self.yaw + (30.0 if action == 2 else -30.0)) % 360.0
        elif action in (4, 5):
            horizon = min(max(self.horizon + (30.0 if action == 5 else -30.0), -30.0), 60.0)
            moved, self.horizon = horizon != self.horizon, horizon
        self.steps += 1
        self.ended = action == 3
        success = self.ended and self._visible()
        truncated = not self.ended and self.steps >= self.max_episode_steps
        info = self._info(moved, success)
        if self.ended or truncated:
            info["failure"] = not success
            info["failure_reason"] = (
                None if success else ("target_not_visible" if self.ended else "step_limit")
            )
        return self._obs(), -0.01 + 10.0 * success, self.ended, truncated, info

    def oracle(self) -> FakeObjectNavEnv._Oracle:
        return self._Oracle(self)

    class _Oracle:
        def __init__(self, env: FakeObjectNavEnv) -> None:
            self.env = env

        def act(self, obs: Any) -> int:
            env = self.env
            if env._visible():
                return 3
            bearing = math.degrees(math.atan2(env.target[0] - env.x, env.target[1] - env.z))
            turn = (bearing - env.yaw + 180.0) % 360.0 - 180.0
            if abs(turn) > 15.0:
                return 2 if turn > 0 else 1
            return 0

    def _distance(self) -> float:
        return math.hypot(self.target[0] - self.x, self.target[1] - self.z)

    def _visible(self) -> bool:
        bearing = math.degrees(math.atan2(self.target[0] - self.x, self.target[1] - self.z))
        off = abs((bearing - self.yaw + 180.0) % 360.0 - 180.0)
        return self._distance() <= 1.0 and off <= 45.0

    def _obs(self) -> dict[str, Any]:
        h, w = self.size
        rng = np.random.default_rng(
            [int(self.x * 4) + 100, int(self.z * 4) + 100, int(self.yaw), int(self.horizon) + 30]
        )
        return {
            "rgb": rng.integers(0, 255, (h, w, 3), dtype=np.uint8),
            "depth": np.full((h, w, 1), self._distance(), np.float32),
            "object_type": "Apple",
        }

    def _info(self, moved: bool, success: bool) -> dict[str, Any]:
        visible = self._visible()
        spl = self.optimal / max(self.path_length, self.optimal) if success else 0.0
        return {
            "agent": {
                "position": {"x": self.x, "y": 0.9, "z": self.z},
                "rotation": {"x": 0.0, "y": self.yaw, "z": 0.0},
                "cameraHorizon": self.horizon,
            },
            "lastActionSuccess": moved,
            "visible_objects": (
                [{"objectId": "Apple|+0.00|+0.50|+2.00", "objectType": "Apple", "distance": self._distance()}]
                if visible
                else []
            ),
            "object_type": "Apple",
            "success": success,
            "spl": spl,
            "distance_to_target": self._distance(),
            "path_length": self.path_length,
            "episode_length": self.steps,
        }


def make_fake_objectnav(name: EnvName, **kwargs: Any) -> FakeObjectNavEnv:
    return FakeObjectNavEnv(**kwargs)
