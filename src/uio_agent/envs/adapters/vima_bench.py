"""The real VIMA-Bench behind the same Gymnasium interface as the embedded ``tabletop`` suite.

VIMA-Bench pins numpy 1.26 and gym 0.21, so it normally runs in its own interpreter: pass
``python="/path/to/venv/bin/python"`` (or set ``UIO_AGENT_VIMA_PYTHON``) and the environment lives
in a worker process (:mod:`uio_agent.envs.remote`) that imports only the standard library, numpy and
``vima_bench``. When no interpreter is named and ``vima_bench`` imports in ours, it runs in-process.

What the adapter adds on top of VIMA-Bench's gym-0.21 API, as the embedded suite does:
``reset(seed, options) -> (obs, info)`` and a 5-tuple ``step``; actions cast to float32 and
clipped to the bounds (``info["action_clipped"]``), malformed ones rejected with a ``ValueError``
naming the key; truncation after the official budget ``oracle_max_steps + 2`` read at
construction; reset retried with the next seed (up to 10 tries) like the official evaluation;
``options={"oracle": True}`` steps with ``skip_oracle=False`` and :meth:`VimaBenchEnv.oracle`
runs ``env.task.oracle(env).act(obs)`` in the worker; ``meta_info`` stripped to serialisable fields.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from uio_agent.envs.adapters.spaces import space_from_description
from uio_agent.envs.names import EnvName
from uio_agent.envs.remote import LocalWorker, RemoteCallError, RemoteWorker, WorkerDiedError

#: Interpreter that has VIMA-Bench, used when ``python=`` is not given.
PYTHON_ENV_VAR = "UIO_AGENT_VIMA_PYTHON"
#: Tries of the official evaluation's reset loop (seed, seed + 1, ...).
RESET_RETRIES = 10
_WORKER_FILE = Path(__file__).with_name("vima_bench_worker.py")
_HANDLER = f"{_WORKER_FILE}:VimaBenchWorker"
_VIEWS = ("front", "top")
_HOW_TO = (
    "VIMA-Bench needs its own interpreter (it pins numpy<2 and gym 0.21): install it in a separate "
    "virtual environment and pass make_env('vima_bench/<task>@<level>', python='/path/to/that/venv/bin/python') "
    f"or set {PYTHON_ENV_VAR}=/path/to/that/venv/bin/python. See docs/vima_bench_bridge.md."
)

_L1_TASKS = (
    "visual_manipulation",
    "scene_understanding",
    "rotate",
    "rearrange",
    "rearrange_then_restore",
    "novel_adj",
    "novel_noun",
    "twist",
    "follow_order",
    "sweep_without_exceeding",
    "same_shape",
    "manipulate_old_neighbor",
    "pick_in_order_then_restore",
)
_LEVEL_TASKS = {
    "placement_generalization": _L1_TASKS,
    "combinatorial_generalization": _L1_TASKS,
    "novel_object_generalization": tuple(t for t in _L1_TASKS if t != "sweep_without_exceeding"),
    "novel_task_generalization": (
        "sweep_without_touching",
        "novel_adj_and_noun",
        "follow_motion",
        "same_texture",
    ),
}
#: VIMA-Bench's evaluation levels and their tasks, so that ``vima_bench@L1`` expands to its tasks
#: (``uio_agent.envs.registry.expand_env_name``) without starting the benchmark. Only the keys are
#: given here (values None): each task's kwargs are read from VIMA-Bench itself, in the worker, when
#: the environment is built. Checked against VIMA-Bench commit 97e0af1.
PARTITION_TO_SPECS: dict[str, dict[str, dict[str, None]]] = {
    "test": {level: dict.fromkeys(tasks) for level, tasks in _LEVEL_TASKS.items()}
}

_in_process_open = 0


class VimaBenchUnavailableError(ImportError):
    """VIMA-Bench cannot be imported in-process nor started in the interpreter given."""


class RemoteOracle:
    """VIMA's oracle for the current episode; ``act(obs)`` runs in the worker and ignores ``obs``
    (the oracle reads privileged simulator state). Returns float32 action arrays or None."""

    def __init__(self, worker: RemoteWorker | LocalWorker) -> None:
        self._worker = worker

    def act(self, obs: object = None) -> dict[str, np.ndarray] | None:
        del obs
        result: dict[str, np.ndarray] | None = self._worker.call("oracle_act")
        return result


class _TaskView:
    """What callers read from ``env.task`` of the embedded suite: ``oracle(env)``, ``oracle_max_steps``."""

    def __init__(self, env: VimaBenchEnv) -> None:
        self._env = env

    @property
    def task_name(self) -> str:
        return self._env.task_name

    @property
    def oracle_max_steps(self) -> int:
        return self._env.oracle_max_steps

    def oracle(self, env: object = None) -> RemoteOracle:
        del env
        return self._env.oracle()


class VimaBenchEnv(gym.Env):
    """One VIMA-Bench task (``task_name``, short or ``group/name``) as a Gymnasium environment.

    ``level`` (a partition name) selects ``PARTITION_TO_SPECS["test"][level][task]`` as task kwargs,
    merged under ``task_kwargs``. ``python``/``worker_env`` choose the worker interpreter and add
    environment variables to it; ``module`` is the benchmark's import name (a fake one in tests).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}  # noqa: RUF012 (gymnasium's class-level dict)

    def __init__(
        self,
        task_name: str,
        *,
        level: str | None = None,
        task_kwargs: Mapping[str, Any] | None = None,
        python: str | os.PathLike[str] | None = None,
        worker_env: Mapping[str, str] | None = None,
        module: str = "vima_bench",
        modalities: Sequence[str] = ("rgb", "segm"),
        seed: int | None = None,
        hide_arm_rgb: bool = True,
        max_episode_steps: int | None = None,
        reset_retries: int = RESET_RETRIES,
        render_mode: str | None = None,
        echo_worker_stderr: bool = False,
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        if reset_retries < 1:
            raise ValueError(f"reset_retries must be >= 1, got {reset_retries}")
        modalities = [modalities] if isinstance(modalities, str) else list(modalities)
        handler_kwargs = {
            "task_name": task_name,
            "level": level,
            "task_kwargs": copy.deepcopy(dict(task_kwargs)) if task_kwargs is not None else None,
            "modalities": modalities,
            "seed": seed,
            "hide_arm_rgb": hide_arm_rgb,
            "module": module,
        }
        self._in_process = False
        self._worker: RemoteWorker | LocalWorker = self._start(
            handler_kwargs, python, worker_env, module, echo_worker_stderr
        )
        try:
            description = self._worker.call("describe")
        except BaseException:
            self.close()
            raise
        self.observation_space = space_from_description(description["observation_space"])
        self.action_space = space_from_description(description["action_space"])
        self.task_name: str = description["task_name"]
        self.modalities = modalities
        self.render_mode = render_mode
        self.reset_retries = reset_retries
        #: The official evaluation's TimeLimit, read once at construction as it does.
        self.max_episode_steps = (
            description["oracle_max_steps"] + 2 if max_episode_steps is None else max_episode_steps
        )
        #: ``task.oracle_max_steps`` as of the last reset (follow_motion changes it on reset).
        self.oracle_max_steps: int = description["oracle_max_steps"]
        #: Where VIMA-Bench runs: worker interpreter, Python and numpy versions, module file.
        self.backend: dict[str, Any] = {**self._worker.info, **description, "in_process": self._in_process}
        del self.backend["observation_space"], self.backend["action_space"]
        self.prompt: str | None = None
        self.prompt_assets: dict[str, Any] | None = None
        self.meta_info: dict[str, Any] = {}
        self.task = _TaskView(self)
        self._oracle_mode = False
        self._elapsed = 0
        self._episode_seed: int | None = None
        self._needs_reset = True
        self._last_obs: dict[str, Any] | None = None
        if seed is not None:
            self.action_space.seed(seed)

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
                raise VimaBenchUnavailableError(
                    f"{module!r} is not importable in this interpreter ({sys.executable}). {_HOW_TO}"
                )
            return self._start_in_process(handler_kwargs, module)
        python = os.fspath(python)
        try:
            return RemoteWorker(
                _HANDLER, kwargs=handler_kwargs, python=python, env=worker_env, echo_stderr=echo
            )
        except RemoteCallError as exc:
            if exc.remote_type in ("ModuleNotFoundError", "ImportError"):
                raise VimaBenchUnavailableError(
                    f"the interpreter {python} cannot import {module!r}: {exc.remote_message}. {_HOW_TO}"
                ) from exc
            raise
        except WorkerDiedError as exc:
            raise VimaBenchUnavailableError(
                f"the VIMA-Bench worker could not start in {python} (it needs Python >= 3.8 with numpy): {exc}\n{_HOW_TO}"
            ) from exc

    def _start_in_process(self, handler_kwargs: dict[str, Any], module: str) -> LocalWorker:
        global _in_process_open
        if _in_process_open:
            raise RuntimeError(
                "VIMA-Bench allows one environment per process (its end effector always uses pybullet "
                "client 0): close the open one, or pass python=sys.executable to run each in its own worker"
            )
        from uio_agent.envs.adapters.vima_bench_worker import VimaBenchWorker

        try:
            handler = VimaBenchWorker(**handler_kwargs)
        except ImportError as exc:
            raise VimaBenchUnavailableError(
                f"importing {module!r} in this interpreter failed: {exc}. {_HOW_TO}"
            ) from exc
        _in_process_open += 1
        self._in_process = True
        return LocalWorker(handler)

    # ------------------------------------------------------------------ VIMA-Bench API

    def get_prompt_and_assets(self) -> tuple[str | None, dict[str, Any] | None]:
        return self.prompt, self.prompt_assets

    def oracle(self) -> RemoteOracle:
        """Same as ``env.task.oracle(env)``: VIMA's scripted oracle, executed in the worker."""
        return RemoteOracle(self._worker)

    def oracle_act(self, obs: object = None) -> dict[str, np.ndarray] | None:
        """``oracle().act(obs)`` as a method returning plain arrays, for ``VectorEnv.call("oracle_act")``."""
        return RemoteOracle(self._worker).act(obs)

    # ------------------------------------------------------------------ Gymnasium API

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"oracle"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; supported: 'oracle'")
        if seed is not None:
            self.action_space.seed(seed)
        self._needs_reset = True  # stays so if every try fails
        result = self._worker.call("reset", seed=seed, retries=self.reset_retries)
        self._oracle_mode = bool(options.get("oracle", False))
        self.prompt = result["prompt"]
        self.prompt_assets = result["prompt_assets"]
        self.meta_info = result["meta_info"]
        self.oracle_max_steps = result["oracle_max_steps"]
        self._episode_seed = result["seed"]
        self._elapsed = 0
        self._needs_reset = False
        obs = self._observation(result["obs"])
        info = self._info({"success": False, "failure": False}, action_clipped=False, done=False)
        info["reset_attempts"] = result["attempts"]
        if result["errors"]:
            info["reset_errors"] = result["errors"]
        return obs, info

    def step(self, action: Mapping[str, Any]) -> tuple[dict, float, bool, bool, dict]:
        if self._needs_reset:
            raise RuntimeError("call reset() before step() (VIMA-Bench needs a reset to build its scene)")
        act, clipped = self._validate(action)
        obs, reward, done, vima_info = self._worker.call("step", act, skip_oracle=not self._oracle_mode)
        self._elapsed += 1
        terminated = bool(done)
        truncated = not terminated and self._elapsed >= self.max_episode_steps
        return (
            self._observation(obs),
            float(reward),
            terminated,
            truncated,
            self._info(vima_info, clipped, terminated),
        )

    def render(self) -> np.ndarray | None:
        """The front and top RGB views stacked (H, W, 3), for videos; VIMA's own render is a no-op."""
        if self.render_mode != "rgb_array" or self._last_obs is None or "rgb" not in self._last_obs:
            return None
        rgb = self._last_obs["rgb"]
        return np.concatenate([np.asarray(rgb[v]).transpose(1, 2, 0) for v in _VIEWS], axis=0)

    def close(self) -> None:
        global _in_process_open
        worker = getattr(self, "_worker", None)
        if worker is not None:
            worker.close()  # idempotent; also frees the pipes of a worker that died
        if getattr(self, "_in_process", False):
            self._in_process = False
            _in_process_open -= 1
        super().close()

    # ------------------------------------------------------------------ internals

    def _validate(self, action: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], bool]:
        """float32 arrays of the right shapes, clipped to the bounds (VIMA-Bench asserts them)."""
        assert isinstance(self.action_space, gym.spaces.Dict)
        keys = sorted(self.action_space.spaces)
        if not isinstance(action, Mapping):
            raise ValueError(f"action must be a dict with keys {keys}, got {type(action).__name__}")
        extra = set(action) - set(keys)
        if extra:
            raise ValueError(f"action has unknown keys {sorted(extra)} (expected {keys})")
        out, clipped = {}, False
        for key in keys:
            space = self.action_space[key]
            assert isinstance(space, gym.spaces.Box)
            if key not in action:
                raise ValueError(f"action is missing key {key!r} (expected {keys})")
            try:
                value = np.asarray(action[key], dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"action[{key!r}] is not numeric: {exc}") from exc
            if value.shape != space.shape:
                raise ValueError(f"action[{key!r}] has shape {value.shape}, expected {space.shape}")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"action[{key!r}] is not finite: {value.tolist()}")
            cast = value.astype(np.float32)
            bounded = np.clip(cast, space.low, space.high).astype(np.float32)
            clipped |= bool(np.any(bounded != cast))
            out[key] = bounded
        return out, clipped

    def _observation(self, obs: dict[str, Any]) -> dict[str, Any]:
        obs = dict(obs)
        obs["ee"] = int(obs["ee"])  # a Python int, as the embedded suite returns
        self._last_obs = obs
        return obs

    def _info(self, vima_info: Mapping[str, Any], action_clipped: bool, done: bool) -> dict[str, Any]:
        success, failure = bool(vima_info["success"]), bool(vima_info["failure"])
        reason = None
        if failure:
            reason = "VIMA-Bench reported a failure"
        elif done and not success:
            reason = "VIMA-Bench ended the episode without success or failure (arm motion timeout)"
        extra = {k: v for k, v in vima_info.items() if k not in ("prompt", "success", "failure")}
        return {
            **extra,
            "prompt": self.prompt,
            "prompt_assets": copy.deepcopy(self.prompt_assets),  # infos never share objects (Gymnasium)
            "success": success,
            "failure": failure,
            "failure_reason": reason,
            "action_clipped": action_clipped,
            "elapsed_steps": self._elapsed,
            "seed": self._episode_seed,
        }


def make_from_name(name: EnvName, **kwargs: Any) -> VimaBenchEnv:
    """Factory for ``make_env("vima_bench/<task>[@<level>]", python=...)``; the level selects the
    partition's task kwargs (read from VIMA-Bench itself, in the worker)."""
    if not name.task:
        level = f"@{str(name).split('@')[1]}" if name.level else "@L1"
        raise ValueError(
            f"{name} names a whole level, not one environment: build each task of it, e.g. "
            f"'vima_bench/rotate{level}', or expand it with uio_agent.envs.registry.expand_env_name"
        )
    return VimaBenchEnv(name.task, level=name.level, **kwargs)
