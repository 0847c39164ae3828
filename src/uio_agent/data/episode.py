"""One recorded episode, as collection writes it and training reads it.

The fields are what a codec needs to rebuild model inputs and targets at any step: the observation
sequence (``T + 1`` observations for ``T`` actions, the first from ``reset``), the actions, the prompt
and its assets, the per-step info values a navigation codec reads (the agent pose, see
:mod:`uio_agent.data.step_infos`), and the bookkeeping that makes a dataset reproducible (environment
name, seed, ``meta_info``). Arrays stay numpy; nested dicts mirror the environment's spaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from uio_agent.data.step_infos import STEP_INFO_KEYS, keep


@dataclass
class Episode:
    env_name: str
    seed: int
    observations: list[dict[str, Any]]
    actions: list[Any]
    prompt: str = ""
    prompt_assets: dict[str, Any] = field(default_factory=dict)
    meta_info: dict[str, Any] = field(default_factory=dict)
    success: bool = False
    failure_reason: str | None = None
    #: ``T + 1`` per-step info values aligned with ``observations`` (``[]``: none recorded)
    step_infos: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.observations) != len(self.actions) + 1:
            raise ValueError(
                f"episode {self.env_name} seed {self.seed}: {len(self.observations)} observations for "
                f"{len(self.actions)} actions; expected one more observation than actions"
            )
        if self.step_infos and len(self.step_infos) != len(self.observations):
            raise ValueError(
                f"episode {self.env_name} seed {self.seed}: {len(self.step_infos)} step infos for "
                f"{len(self.observations)} observations; expected one per observation (or none)"
            )

    @property
    def num_steps(self) -> int:
        return len(self.actions)

    @property
    def end_effector(self) -> str:
        return str(self.meta_info.get("end_effector_type", "suction"))

    def info(self) -> dict[str, Any]:
        """The ``info`` a codec's ``encode`` expects (prompt and assets)."""
        return {"prompt": self.prompt, "prompt_assets": self.prompt_assets}

    def as_target_source(self) -> Mapping[str, Any]:
        """The ``episode`` mapping a codec's ``target`` expects."""
        return {"actions": self.actions, "end_effector": self.end_effector, "meta_info": self.meta_info}

    @classmethod
    def from_trajectory(
        cls,
        env_name: str,
        seed: int,
        trajectory: Mapping[str, list[Any]],
        *,
        success: bool,
        failure_reason: str | None,
        step_info_keys: Sequence[str] = STEP_INFO_KEYS,
    ) -> Episode:
        """An episode from a recorded rollout (``{"observations", "actions", "infos"}``, ``infos[0]``
        being the reset info that carries the prompt, its assets and ``meta_info``, then one info per
        step). Of each info, the ``step_info_keys`` that the reset info reports are kept."""
        infos = trajectory.get("infos") or [{}]
        reset_info = infos[0]
        return cls(
            env_name=env_name,
            seed=int(seed),
            observations=list(trajectory["observations"]),
            actions=list(trajectory["actions"]),
            prompt=str(reset_info.get("prompt", "")),
            prompt_assets=dict(reset_info.get("prompt_assets") or {}),
            meta_info=dict(reset_info.get("meta_info") or {}),
            success=bool(success),
            failure_reason=failure_reason,
            step_infos=keep(infos, step_info_keys, f"episode {env_name} seed {seed}"),
        )
