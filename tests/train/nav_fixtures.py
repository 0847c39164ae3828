"""Tiny oracle datasets of the embedded navigation suites (small renders), for the trainer's tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from uio_agent.agent.policy import OraclePolicy
from uio_agent.agent.rollout import run_episodes
from uio_agent.data.episode import Episode
from uio_agent.data.storage import write_dataset
from uio_agent.envs import make_env

POINTNAV = "pointnav/procedural"
OBJECTNAV = "objectnav/procedural"
#: small renders keep collection and preprocessing cheap
ENV_KWARGS: dict[str, dict[str, Any]] = {
    POINTNAV: {"width": 32, "height": 32, "sensors": ("rgb",)},
    OBJECTNAV: {"width": 32, "height": 24},
}


def collect_oracle_dataset(env_name: str, seeds: list[int], folder: Path) -> Path:
    """Successful oracle episodes of ``seeds``, written as a dataset (what ``uio-agent collect`` writes)."""
    kwargs = ENV_KWARGS[env_name]
    results = run_episodes(
        env_name, OraclePolicy(), seeds, oracle=True, env_kwargs=kwargs, record_trajectories=True
    )
    episodes = [
        Episode.from_trajectory(
            env_name, r.seed, r.trajectory, success=r.success, failure_reason=r.failure_reason
        )
        for r in sorted(results, key=lambda r: r.seed)
        if r.success and r.trajectory is not None
    ]
    env = make_env(env_name, **kwargs)
    try:
        write_dataset(
            episodes, folder, observation_space=env.observation_space, action_space=env.action_space
        )
    finally:
        env.close()
    return folder
