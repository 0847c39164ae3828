"""VIMA-Bench re-created in MuJoCo: ``make``, ``ALL_TASKS``, ``ALL_PARTITIONS``, ``PARTITION_TO_SPECS``.

Importing this package is cheap (no MuJoCo import): it picks the OpenGL backend, registers the
Gymnasium ids ``uio_agent/tabletop-<task>-<level>-v0``, and resolves the public names lazily.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from uio_agent.envs.names import EnvName
from uio_agent.envs.tabletop.gl import choose_backend
from uio_agent.envs.tabletop.partitions import PARTITION_TO_SPECS

choose_backend()

_LAZY = {"make", "make_from_name", "make_gym", "ALL_TASKS", "ALL_PARTITIONS", "TabletopEnv"}


def _register_gym_ids() -> None:
    """``uio_agent/tabletop-<task>-<level>-v0`` per task and level, and ``uio_agent/tabletop-<task>-v0``."""
    names = {
        str(EnvName("tabletop", task)) for level in PARTITION_TO_SPECS["test"].values() for task in level
    }
    names |= {
        str(EnvName("tabletop", t, lv)) for lv, tasks in PARTITION_TO_SPECS["test"].items() for t in tasks
    }
    for name in sorted(names):
        gym_id = EnvName.parse(name).gym_id
        if gym_id not in gym.registry:
            gym.register(
                gym_id, entry_point="uio_agent.envs.tabletop.api:make_gym", kwargs={"env_name": name}
            )


_register_gym_ids()


def __getattr__(name: str) -> Any:
    if name == "PARTITION_TO_SPECS":
        return PARTITION_TO_SPECS
    if name in _LAZY:
        from uio_agent.envs.tabletop import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
