"""Simulators: embedded re-creations (tabletop/, nav/) and adapters to the real benchmarks."""

from uio_agent.envs.names import LEVEL_ALIASES, EnvName
from uio_agent.envs.registry import SUITES, make_env

__all__ = ["LEVEL_ALIASES", "SUITES", "EnvName", "make_env"]
