"""habitat-lab's PointNav behind the same Gymnasium interface as the embedded ``pointnav`` suite.

habitat-sim comes from conda (no installable PyPI wheel for current Python), so habitat normally runs
in its own interpreter: pass ``python="/path/to/conda/env/bin/python"`` (or set
``UIO_AGENT_HABITAT_PYTHON``) and the environment lives in a worker process
(:mod:`uio_agent.envs.remote`) that imports only the standard library, numpy and ``habitat``. When no
interpreter is named and ``habitat`` imports in ours, it runs in-process.

What the adapter adds on top of ``habitat.Env`` (the core API, as ``PointNavEnv`` mirrors it):
``reset(seed, options) -> (obs, info)`` where a seed selects episode ``seed mod N`` of the dataset (and
seeds the simulator), a 5-tuple ``step`` (``terminated`` when STOP is called, ``truncated`` when habitat
ends the episode at its step limit), habitat ``RLTaskEnv``'s reward, and ``info`` with the metrics
``distance_to_goal``, ``success``, ``spl``, ``soft_spl``, ``collisions`` (the last two are added to the
task config), the agent pose in Habitat's frame, ``failure``/``failure_reason`` once ended, and
``oracle_action`` (habitat's ``ShortestPathFollower``) with ``options={"oracle": True}``.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from uio_agent.envs.adapters.spaces import space_from_description
from uio_agent.envs.names import EnvName
from uio_agent.envs.nav.motion import ACTION_NAMES, check_action
from uio_agent.envs.remote import LocalWorker, RemoteCallError, RemoteWorker, WorkerDiedError

#: Interpreter that has habitat-sim and habitat-lab, used when ``python=`` is not given.
PYTHON_ENV_VAR = "UIO_AGENT_HABITAT_PYTHON"
#: ``habitat/<task>`` -> habitat-lab benchmark config (``habitat`` alone is Gibson)
BENCHMARKS = {
    "gibson": "benchmark/nav/pointnav/pointnav_gibson.yaml",
    "mp3d": "benchmark/nav/pointnav/pointnav_mp3d.yaml",
    "hm3d": "benchmark/nav/pointnav/pointnav_hm3d.yaml",
}
RESET_OPTIONS = ("oracle", "episode_index")
STOP = 0
#: habitat-lab's RLTaskEnv reward terms (``TaskConfig`` defaults)
SLACK_REWARD = -0.01
SUCCESS_REWARD = 2.5
_WORKER_FILE = Path(__file__).with_name("habitat_worker.py")
_HANDLER = f"{_WORKER_FILE}:HabitatWorker"
_HOW_TO = (
    "habitat-sim installs from conda, in an environment of its own: create one with habitat-sim and "
    "habitat-lab, then pass make_env('habitat/gibson', python='/path/to/that/env/bin/python') or set "
    f"{PYTHON_ENV_VAR}=/path/to/that/env/bin/python. See docs/navigation.md."
)


class HabitatUnavailableError(ImportError):
    """habitat cannot be imported in-process nor started in the interpreter given."""


class _EpisodeOracle:
    """``act(obs)`` replaying the follower's action computed in the worker after the last reset or step."""

    def __init__(self, env: HabitatEnv) -> None:
        self._env = env

    def act(self, obs: object = None) -> int | None:
        del obs
        return self._env._oracle_action


class HabitatEnv(gym.Env[dict[str, Any], np.int64]):
    """habitat-lab PointNav (``config_path``, Hydra ``overrides``) as a Gymnasium environment.

    ``python``/``worker_env`` choose the worker interpreter and add environment variables to it;
    ``module`` is the import name of habitat-lab (a fake one in tests).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}  # noqa: RUF012 (gymnasium's attribute)

    def __init__(
        self,
        config_path: str = BENCHMARKS["gibson"],
        *,
        overrides: Sequence[str] = (),
        split: str | None = None,
        python: str | os.PathLike[str] | None = None,
        worker_env: Mapping[str, str] | None = None,
        module: str = "habitat",
        render_mode: str | None = None,
        echo_worker_stderr: bool = False,
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        if isinstance(overrides, str):
            raise ValueError("overrides must be a list of Hydra strings, e.g. ['habitat.seed=1']")
        all_overrides = [str(o) for o in overrides]
        if split is not None:
            all_overrides.append(f"habitat.dataset.split={split}")
        handler_kwargs = {"config_path": config_path, "overrides": all_overrides, "module": module}
        self._in_process = False
        self._worker = self._start(handler_kwargs, python, worker_env, module, echo_worker_stderr)
        try:
            description = self._worker.call("describe")
        except BaseException:
            self.close()
            raise
        self.observation_space = space_from_description(description["observation_space"])
        actions = [str(a).upper() for a in description["actions"]]
        if actions != list(ACTION_NAMES):
            self.close()
            raise ValueError(
                f"{config_path}: expected habitat's PointNav actions {list(ACTION_NAMES)} in this order, "
                f"got {actions}"
            )
        self.action_space = gym.spaces.Discrete(len(ACTION_NAMES))
        self.render_mode = render_mode
        self.max_episode_steps: int = description["max_episode_steps"]
        self.success_distance: float = description["success_distance"]
        self.num_episodes: int = description["episodes"]
        #: Where habitat runs: worker interpreter, Python and numpy versions, module file.
        self.backend: dict[str, Any] = {**self._worker.info, **description, "in_process": self._in_process}
        del self.backend["observation_space"]
        self._done = True
        self._oracle_action: int | None = None
        self._oracle_mode = False
        self._last_obs: dict[str, np.ndarray] | None = None

    # ------------------------------------------------------------------ backend
    def _start(
        self,
        handler_kwargs: dict[str, Any],
        python: str | os.PathLike[str] | None,
        worker_env: Mapping[str, str] | None,
        module: str,
        echo: bool,
    ) -> RemoteWorker | LocalWorker:
        python = python or os.environ.get(PYTHON_ENV_VAR) or None
        if python is None:
            if importlib.util.find_spec(module) is None:
                raise HabitatUnavailableError(
                    f"{module!r} is not importable in this interpreter ({sys.executable}). {_HOW_TO}"
                )
            from uio_agent.envs.adapters.habitat_worker import HabitatWorker

            self._in_process = True
            return LocalWorker(HabitatWorker(**handler_kwargs))
        python = os.fspath(python)
        try:
            return RemoteWorker(
                _HANDLER, kwargs=handler_kwargs, python=python, env=worker_env, echo_stderr=echo
            )
        except RemoteCallError as exc:
            if exc.remote_type in ("ModuleNotFoundError", "ImportError"):
                raise HabitatUnavailableError(
                    f"the interpreter {python} cannot import {module!r}: {exc.remote_message}. {_HOW_TO}"
                ) from exc
            raise
        except WorkerDiedError as exc:
            raise HabitatUnavailableError(
                f"the habitat worker could not start in {python} (it needs Python >= 3.8 with numpy): {exc}\n{_HOW_TO}"
            ) from exc

    # ------------------------------------------------------------------ Gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = sorted(set(options) - set(RESET_OPTIONS))
        if unknown:
            raise ValueError(f"unknown reset options {unknown}; valid: {list(RESET_OPTIONS)}")
        index = options.get("episode_index")
        self._oracle_mode = bool(options.get("oracle", False))
        report = self._worker.call(
            "reset",
            seed=seed,
            episode_index=None if index is None else int(index),
            oracle=self._oracle_mode,
        )
        self._episode = report["episode"]
        self._steps = 0
        self._stop_called = False
        self._done = False
        self._start_distance = float(report["metrics"]["distance_to_goal"])
        self._distance = self._start_distance
        return self._observation(report), self._info(report)

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self._done:
            raise RuntimeError("step() after the episode ended (or before reset()): call reset() first")
        act = check_action(action)
        report = self._worker.call("step", act)
        self._steps += 1
        self._stop_called = act == STOP
        previous = self._distance
        self._distance = float(report["metrics"]["distance_to_goal"])
        terminated = self._stop_called
        truncated = not terminated and bool(report["episode_over"])
        self._done = terminated or truncated
        info = self._info(report)
        reward = SLACK_REWARD + (previous - self._distance)
        if info["spl"] > 0:
            reward += SUCCESS_REWARD
        return self._observation(report), float(reward), terminated, truncated, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array" or self._last_obs is None or "rgb" not in self._last_obs:
            return None
        return self._last_obs["rgb"]

    def oracle(self) -> _EpisodeOracle:
        """habitat's ``ShortestPathFollower`` for this episode (``agent.OracleActionWrapper``); needs
        ``reset(options={"oracle": True})``."""
        if not self._oracle_mode:
            raise RuntimeError("no oracle for this episode: reset with options={'oracle': True}")
        return _EpisodeOracle(self)

    def close(self) -> None:
        worker = getattr(self, "_worker", None)
        if worker is not None:
            worker.close()
        super().close()

    # ------------------------------------------------------------------ internals
    def _observation(self, report: Mapping[str, Any]) -> dict[str, np.ndarray]:
        assert isinstance(self.observation_space, gym.spaces.Dict)
        obs = {key: report["obs"][key] for key in self.observation_space.spaces if key in report["obs"]}
        missing = sorted(set(self.observation_space.spaces) - set(obs))
        if missing:
            raise RuntimeError(f"habitat returned no {missing} observation (got {sorted(report['obs'])})")
        self._last_obs = obs
        return obs

    def _info(self, report: Mapping[str, Any]) -> dict[str, Any]:
        metrics = report["metrics"]
        success = bool(metrics.get("success", 0.0)) and self._stop_called
        collisions = metrics.get("collisions") or {"count": 0, "is_collision": False}
        distance = float(metrics["distance_to_goal"])
        info: dict[str, Any] = {
            "distance_to_goal": distance,
            "success": success,
            "spl": float(metrics.get("spl", 0.0)),
            "soft_spl": float(metrics.get("soft_spl", math.nan)),
            "collisions": {
                "count": int(collisions.get("count", 0)),
                "is_collision": bool(collisions.get("is_collision", False)),
            },
            "episode_id": self._episode["episode_id"],
            "scene_id": self._episode["scene_id"],
            "agent_position": list(report["agent_position"]),
            "agent_rotation": list(report["agent_rotation"]),
            "elapsed_steps": self._steps,
            "start_geodesic_distance": self._start_distance,
        }
        if self._done:
            info["failure"] = not success
            info["failure_reason"] = (
                None if success else ("stopped_too_far" if self._stop_called else "step_limit")
            )
        self._oracle_action = None if self._done else report.get("oracle_action")
        if self._oracle_mode and self._oracle_action is not None:
            info["oracle_action"] = self._oracle_action
        return info


def make_from_name(name: EnvName, **kwargs: Any) -> HabitatEnv:
    """Factory for ``make_env("habitat[/gibson|mp3d|hm3d]", python=..., overrides=[...], split=...)``."""
    if name.level is not None:
        raise ValueError(f"{name}: habitat has no levels; use 'habitat/<dataset>' ({', '.join(BENCHMARKS)})")
    task = name.task or "gibson"
    if "config_path" in kwargs:
        if name.task is not None:
            raise ValueError(f"{name}: give either a dataset in the name or config_path=, not both")
        return HabitatEnv(**kwargs)
    if task not in BENCHMARKS:
        raise ValueError(
            f"{name}: unknown habitat PointNav dataset {task!r}; known: {', '.join(BENCHMARKS)} "
            "(or pass config_path= with any habitat-lab PointNav config)"
        )
    return HabitatEnv(BENCHMARKS[task], **kwargs)
