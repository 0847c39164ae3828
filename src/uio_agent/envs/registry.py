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
SUITES: dict[str, str] = {}


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
