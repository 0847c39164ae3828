"""Small deterministic environments for testing the episode runner without a simulator."""

from __future__ import annotations

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
