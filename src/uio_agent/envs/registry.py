"""``make_env(name)``: one entry point for every simulator of the suite, embedded or real.

Each suite names a factory ``"module:function"`` imported lazily, so asking for ``tabletop`` never
imports the navigation renderer, and a missing optional package only matters for its own suite.
A factory receives the parsed :class:`EnvName` and the keyword arguments of ``make_env``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import gymnasium as gym

from uio_agent.envs.names import EnvName

#: suite -> "module:function" of its factory; each suite adds its line here when it lands.
SUITES: dict[str, str] = {
    "habitat": "uio_agent.envs.adapters.habitat:make_from_name",
    "objectnav": "uio_agent.envs.nav.objectnav:make_from_name",
    "pointnav": "uio_agent.envs.nav.pointnav:make_from_name",
    "tabletop": "uio_agent.envs.tabletop.api:make_from_name",
    "thor": "uio_agent.envs.adapters.thor:make_from_name",
    "vima_bench": "uio_agent.envs.adapters.vima_bench:make_from_name",
}


#: suites whose names may leave out the task: suite -> "module:attribute" of VIMA's PARTITION_TO_SPECS
PARTITIONED_SUITES: dict[str, str] = {
    "tabletop": "uio_agent.envs.tabletop.partitions:PARTITION_TO_SPECS",
    "vima_bench": "uio_agent.envs.adapters.vima_bench:PARTITION_TO_SPECS",
}


def expand_env_name(name: str | EnvName) -> list[EnvName]:
    """The single environments a name stands for: ``tabletop@L1`` -> every task of level 1,
    ``tabletop`` -> every task of every level; a name with a task is itself."""
    parsed = name if isinstance(name, EnvName) else EnvName.parse(name)
    if parsed.task is not None or parsed.suite not in PARTITIONED_SUITES:
        return [parsed]
    module_name, attribute = PARTITIONED_SUITES[parsed.suite].split(":")
    levels: dict[str, dict[str, object]] = getattr(importlib.import_module(module_name), attribute)["test"]
    if parsed.level is not None and parsed.level not in levels:
        raise ValueError(f"unknown level {parsed.level!r} for {parsed.suite}; known: {', '.join(levels)}")
    chosen = [parsed.level] if parsed.level else list(levels)
    return [EnvName(parsed.suite, task, level) for level in chosen for task in levels[level]]


def _factory(suite: str) -> Callable[..., gym.Env]:
    if suite not in SUITES:
        known = ", ".join(sorted(SUITES)) or "(none)"
        raise ValueError(f"unknown environment suite {suite!r}; known suites: {known}")
    module_name, function_name = SUITES[suite].split(":")
    module = importlib.import_module(module_name)
    factory: Callable[..., gym.Env] = getattr(module, function_name)
    return factory


def make_env(name: str | EnvName, **kwargs: Any) -> gym.Env:
    """Build the environment ``name`` (``SUITE[/TASK][@LEVEL]``), e.g. ``"tabletop/rotate@L1"``."""
    parsed = name if isinstance(name, EnvName) else EnvName.parse(name)
    return _factory(parsed.suite)(parsed, **kwargs)
