"""Policies from their command-line names: ``oracle``, ``random``, ``uio:<preset>``, or a checkpoint folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from uio_agent.agent.policy import GenerationSettings, OraclePolicy, Policy, RandomPolicy, UIOPolicy
from uio_agent.envs.registry import expand_env_name, make_env


def build_policy(
    spec: str,
    env_name: str,
    *,
    replan: str = "when_exhausted",
    generation: dict[str, Any] | None = None,
    device: str = "cpu",
    seed: int = 0,
) -> tuple[Policy, bool]:
    """The policy named ``spec`` and whether its environments must run in oracle mode."""
    if spec == "oracle":
        return OraclePolicy(), True
    if spec == "random":
        probe = make_env(expand_env_name(env_name)[0])
        try:
            return RandomPolicy(probe.action_space, seed=seed), False
        finally:
            probe.close()
    settings = GenerationSettings(**(generation or {}))
    if spec.startswith("uio:"):
        from uio_agent.codecs.vima import VimaCodec
        from uio_agent.model import PreprocessConfig, UIOConfig, UIOModel

        config = UIOConfig.preset(spec.removeprefix("uio:"))
        torch.manual_seed(seed)
        codec = VimaCodec(preprocess=PreprocessConfig.from_model_config(config))
        return UIOPolicy(
            UIOModel(config), codec, replan=replan, generation=settings, device=device, seed=seed
        ), False
    if Path(spec).is_dir():
        return UIOPolicy.from_pretrained(
            spec, replan=replan, generation=settings, device=device, seed=seed
        ), False
    raise ValueError(
        f"unknown policy {spec!r}: use 'oracle', 'random', 'uio:<preset>' (e.g. uio:tiny) or a checkpoint folder"
    )
