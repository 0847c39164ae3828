"""Public entry points: ``make`` (VIMA-Bench's signature), the task and partition tables, and the
factory behind ``uio_agent.envs.make_env("tabletop/<task>@<level>")``."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Literal

from uio_agent.envs.names import EnvName
from uio_agent.envs.tabletop.env import TabletopEnv
from uio_agent.envs.tabletop.oracle import PickPoint
from uio_agent.envs.tabletop.partitions import ALL_PARTITIONS, PARTITION_TO_SPECS
from uio_agent.envs.tabletop.tasks import TASK_CLASSES

#: VIMA's ``group/name`` keys of the tasks re-created so far.
ALL_TASKS = list(TASK_CLASSES)
_SHORT = {key.split("/")[1]: key for key in TASK_CLASSES}

__all__ = [
    "ALL_PARTITIONS",
    "ALL_TASKS",
    "PARTITION_TO_SPECS",
    "TabletopEnv",
    "make",
    "make_from_name",
    "make_gym",
]


def _task_key(task_name: str) -> str:
    if task_name in TASK_CLASSES:
        return task_name
    if task_name in _SHORT:
        return _SHORT[task_name]
    raise ValueError(f"unknown tabletop task {task_name!r}; available: {', '.join(sorted(_SHORT))}")


def make(
    task_name: str,
    *,
    task_kwargs: dict[str, Any] | None = None,
    modalities: Sequence[Literal["rgb", "segm"]] | None = None,
    seed: int | None = None,
    hide_arm_rgb: bool = True,
    render_mode: str | None = None,
    oracle_pick_point: PickPoint = "sample",
) -> TabletopEnv:
    """Build a task like ``vima_bench.make``: short or ``group/name`` task names, task kwargs from
    ``PARTITION_TO_SPECS["test"][level][task]`` (None for the task's defaults)."""
    cls = TASK_CLASSES[_task_key(task_name)]
    task = cls(seed=seed, **copy.deepcopy(task_kwargs or {}))
    return TabletopEnv(
        task,
        modalities=modalities or ("rgb", "segm"),
        seed=seed,
        hide_arm_rgb=hide_arm_rgb,
        render_mode=render_mode,
        oracle_pick_point=oracle_pick_point,
    )


def make_from_name(name: EnvName, **kwargs: Any) -> TabletopEnv:
    """Factory for ``make_env``: ``tabletop/<task>[@<level>]``; the level selects the partition's kwargs.

    A bare ``tabletop@L1`` names several environments; callers iterate ``PARTITION_TO_SPECS`` for it.
    """
    if not name.task:
        tasks = sorted(PARTITION_TO_SPECS["test"].get(name.level or "", {}))
        listed = (
            ", ".join(repr(str(EnvName(name.suite, t, name.level))) for t in tasks) or "(none re-created yet)"
        )
        raise ValueError(
            f"{name} names a whole level, not one environment: build each of its tasks: {listed}"
        )
    task_kwargs = kwargs.pop("task_kwargs", None)
    if name.level is not None:
        if name.level not in PARTITION_TO_SPECS["test"]:
            raise ValueError(f"unknown level {name.level!r}; known: {', '.join(ALL_PARTITIONS)}")
        short = _task_key(name.task).split("/")[1]
        level_specs = PARTITION_TO_SPECS["test"][name.level]
        if short not in level_specs:
            raise ValueError(f"task {short!r} is not part of level {name.level!r}")
        task_kwargs = {**copy.deepcopy(level_specs[short] or {}), **(task_kwargs or {})}
    return make(name.task, task_kwargs=task_kwargs, **kwargs)


def make_gym(env_name: str, **kwargs: Any) -> TabletopEnv:
    """Entry point of the registered Gymnasium ids (``uio_agent/tabletop-<task>-<level>-v0``)."""
    return make_from_name(EnvName.parse(env_name), **kwargs)
