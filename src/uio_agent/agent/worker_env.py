"""The environment as seen from an evaluation or collection worker.

``EpisodeEnv`` wraps one simulator so that a vector of them can run episodes of uneven length
without Gymnasium's autoreset:

* an environment whose episode is over is *parked*: further steps return its last observation with
  ``terminated=True`` and touch no simulator, so idle workers cost nothing while others finish; the
  parent parks an episode it ends itself (a policy that cannot act) by setting ``park_requested``;
* an exception in ``reset`` or ``step`` ends the episode as a failure with the error as its reason,
  instead of killing the worker and the whole evaluation;
* the per-step ``info`` travels as one :class:`StepInfo` object, because Gymnasium's vector info
  batching would try to stack nested prompt assets of different shapes;
* with ``oracle=True`` it resets in oracle mode and adds the oracle's next action;
* the reset report carries the environment's ``meta_info`` when it has one (datasets keep it).
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym


@dataclass
class StepInfo:
    """What a worker reports after a reset or step."""

    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    oracle_action: Any = None
    parked: bool = False


class EpisodeEnv(gym.Wrapper):
    def __init__(self, env: gym.Env, oracle: bool = False) -> None:
        super().__init__(env)
        self.use_oracle = oracle
        self._oracle: Any = None
        self._last_obs: Any = None
        self._over = True
        self.park_requested = False

    def _placeholder_obs(self) -> Any:
        return self._last_obs if self._last_obs is not None else self.observation_space.sample()

    def _oracle_action(self, obs: Any) -> Any:
        return self._oracle.act(obs) if self._oracle is not None else None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        options = {**(options or {}), **({"oracle": True} if self.use_oracle else {})}
        try:
            obs, info = self.env.reset(seed=seed, options=options or None)
            if self.use_oracle:
                self._oracle = self.env.unwrapped.oracle()  # type: ignore[attr-defined]
            info = dict(info)
            meta_info = getattr(self.env.unwrapped, "meta_info", None)
            if meta_info is not None:
                info["meta_info"] = meta_info
            report = StepInfo(info=info, oracle_action=self._oracle_action(obs))
            self._over, self.park_requested = False, False
        except Exception as err:  # a broken episode is a failed episode, not a dead worker
            obs, self._over = self._placeholder_obs(), True
            report = StepInfo(
                error=f"reset raised {type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}"
            )
        self._last_obs = obs
        return obs, {"step_info": report}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if self._over or self.park_requested:
            self._over, self.park_requested = True, False
            return self._placeholder_obs(), 0.0, True, False, {"step_info": StepInfo(parked=True)}
        try:
            obs, reward, terminated, truncated, info = self.env.step(action)
            over = bool(terminated or truncated)
            report = StepInfo(info=dict(info), oracle_action=None if over else self._oracle_action(obs))
        except Exception as err:
            obs, reward, terminated, truncated = self._placeholder_obs(), 0.0, True, False
            report = StepInfo(
                error=f"step raised {type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}"
            )
            over = True
        self._over = over
        self._last_obs = obs
        return obs, float(reward), bool(terminated), bool(truncated), {"step_info": report}


def make_episode_env(env_name: str, oracle: bool, env_kwargs: dict[str, Any]) -> EpisodeEnv:
    """Worker-side factory (module level, so spawn can pickle it). One thread per worker: the parent
    runs the model, workers only simulate."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("LP_NUM_THREADS", "1")
    from uio_agent.envs import make_env

    return EpisodeEnv(make_env(env_name, **env_kwargs), oracle=oracle)
