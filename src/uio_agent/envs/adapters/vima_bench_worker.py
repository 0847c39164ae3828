"""The VIMA-Bench side of the bridge: runs inside the benchmark's own interpreter.

Loaded by file path by ``uio_agent/envs/remote.py`` in a worker process (or imported in-process
when ``vima_bench`` imports in ours), so it imports only the standard library, numpy and the
benchmark module, and keeps to Python 3.8 syntax and numpy 1.x APIs. It owns one VIMA-Bench
environment (one per process: the end-effector code always talks to pybullet client 0) and turns
its gym-0.21 API into plain data: spaces as descriptions, ``meta_info`` stripped to serialisable
fields, reset retried with the next seed as the official evaluation does.
"""

from __future__ import annotations

import copy
import enum
import importlib
import os
import traceback
from typing import Any

import numpy as np


def portable(value: Any, keep_arrays: bool = True) -> Any:
    """``value`` as data that crosses the pipe: functions and other objects become None.

    Named tuples become dicts (VIMA's ``SizeRange(low, high)``), other tuples lists, enums their
    values (VIMA's ``ProfilePedia``), numpy scalars Python scalars, paths strings; arrays stay arrays
    unless ``keep_arrays`` is False (then nested lists, as JSON would hold them).
    """
    if isinstance(value, enum.Enum):
        return portable(value.value, keep_arrays)
    if isinstance(value, np.generic):  # before the Python types: np.float64 is a float
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject or not keep_arrays:
            return portable(value.tolist(), keep_arrays)
        return value
    if isinstance(value, dict):
        return {_portable_key(k): portable(v, keep_arrays) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return portable(dict(value._asdict()), keep_arrays)
    if isinstance(value, (list, tuple)):
        return [portable(v, keep_arrays) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return None  # functions, classes, modules, simulator handles: meaningless outside the worker


def _portable_key(key: Any) -> Any:
    """A dict key that stays hashable: body ids stay ints, tuples stay tuples, other objects their str."""
    if isinstance(key, enum.Enum):
        return _portable_key(key.value)
    if isinstance(key, np.generic):
        return key.item()
    if key is None or isinstance(key, (bool, int, float, str, bytes)):
        return key
    if isinstance(key, tuple):
        return tuple(_portable_key(k) for k in key)
    return str(key)


def describe_space(space: Any) -> dict[str, Any]:
    """A gym (0.21 or later) space as plain data, read by duck typing so gym need not be imported here."""
    spaces = getattr(space, "spaces", None)
    if isinstance(spaces, dict):
        return {"type": "Dict", "spaces": {str(k): describe_space(v) for k, v in spaces.items()}}
    if hasattr(space, "n"):
        return {"type": "Discrete", "n": int(space.n), "start": int(getattr(space, "start", 0))}
    if hasattr(space, "low") and hasattr(space, "high"):
        return {
            "type": "Box",
            "low": np.asarray(space.low),
            "high": np.asarray(space.high),
            "shape": [int(s) for s in space.shape],
            "dtype": np.dtype(space.dtype).str,
        }
    raise TypeError(f"cannot describe space {space!r}: expected a gym Dict, Discrete or Box")


def _short_task_name(task_name: str) -> str:
    return task_name.split("/")[-1]


class VimaBenchWorker:
    """One VIMA-Bench environment with the data-only methods the adapter calls."""

    def __init__(
        self,
        task_name: str,
        level: str | None = None,
        task_kwargs: dict[str, Any] | None = None,
        modalities: list[str] | None = None,
        seed: int | None = None,
        hide_arm_rgb: bool = True,
        module: str = "vima_bench",
    ) -> None:
        self.bench = importlib.import_module(module)
        self.module = module
        kwargs = copy.deepcopy(task_kwargs) if task_kwargs is not None else None
        if level is not None:
            specs = self.bench.PARTITION_TO_SPECS["test"]
            if level not in specs:
                raise ValueError(f"unknown level {level!r}; {module} has {sorted(specs)}")
            short = _short_task_name(task_name)
            if short not in specs[level]:
                raise ValueError(
                    f"task {short!r} is not part of level {level!r}; its tasks: {sorted(specs[level])}"
                )
            kwargs = dict(copy.deepcopy(specs[level][short] or {}), **(kwargs or {}))
        self.env = self.bench.make(
            task_name, task_kwargs=kwargs, modalities=modalities, seed=seed, hide_arm_rgb=hide_arm_rgb
        )
        self._oracle: Any = None
        self._last_obs: Any = None

    def describe(self) -> dict[str, Any]:
        """Spaces, the construction-time step budget base and versions, read once by the adapter."""
        return {
            "observation_space": describe_space(self.env.observation_space),
            "action_space": describe_space(self.env.action_space),
            "task_name": str(self.env.task_name),
            "oracle_max_steps": int(self.env.task.oracle_max_steps),
            "module_file": str(getattr(self.bench, "__file__", "")),
            "numpy": np.__version__,
        }

    def reset(self, seed: int | None = None, retries: int = 10) -> dict[str, Any]:
        """Seed (``seed``, then ``seed + 1``, ... on exceptions, as the official evaluation) and reset."""
        errors = []
        for attempt in range(max(1, retries)):
            episode_seed = None if seed is None else seed + attempt
            try:
                if episode_seed is not None:
                    self.env.seed(episode_seed)
                obs = self.env.reset()
            except Exception as exc:
                errors.append(
                    {
                        "seed": episode_seed,
                        "error": f"{type(exc).__name__}: {exc}",
                        "traceback": traceback.format_exc(),
                    }
                )
                continue
            self._oracle = None
            self._last_obs = obs
            prompt, prompt_assets = self.env.prompt, self.env.prompt_assets
            return {
                "obs": obs,
                "prompt": str(prompt),
                "prompt_assets": portable(prompt_assets),
                "meta_info": portable(self.env.meta_info, keep_arrays=False),
                "seed": episode_seed,
                "attempts": attempt + 1,
                "errors": [e["error"] for e in errors],
                "oracle_max_steps": int(self.env.task.oracle_max_steps),
            }
        seeds = [e["seed"] for e in errors]
        raise RuntimeError(
            f"reset failed {len(errors)} times (seeds {seeds}); last error: {errors[-1]['error']}\n"
            f"{errors[-1]['traceback']}"
        )

    def step(self, action: dict[str, np.ndarray], skip_oracle: bool = True) -> list[Any]:
        """One primitive; ``action`` holds float32 arrays already clipped to the bounds by the adapter."""
        obs, reward, done, info = self.env.step(action, skip_oracle=skip_oracle)
        self._last_obs = obs
        return [obs, float(reward), bool(done), portable(info)]

    def oracle_act(self) -> dict[str, np.ndarray] | None:
        """``env.task.oracle(env).act(obs)`` with one oracle per episode; None if it has no action."""
        if self._oracle is None:
            self._oracle = self.env.task.oracle(self.env)
        action = self._oracle.act(self._last_obs)
        if action is None:
            return None
        return {str(k): np.asarray(v, dtype=np.float32) for k, v in action.items()}

    def close(self) -> None:
        self.env.close()
