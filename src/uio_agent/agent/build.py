"""Policies from their command-line names: ``oracle``, ``random``, ``random_walk`` (navigation: never
STOPs, for next-frame / next-action data), ``uio:<preset>``, or a checkpoint folder.

A UIO-2 policy needs the codec of its environment family: navigation suites (``pointnav``, ``habitat``)
get the PointNav codec and :class:`UIONavPolicy`, the others the VIMA codec and :class:`UIOPolicy`. A
checkpoint folder says which family it was trained for in ``codec.json``; a mismatch is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

from uio_agent.agent.policy import GenerationSettings, OraclePolicy, Policy, RandomPolicy, UIOPolicy
from uio_agent.envs.names import EnvName
from uio_agent.envs.registry import expand_env_name, make_env
from uio_agent.model.checkpoint import CheckpointError

#: environment suites whose UIO-2 policy speaks the PointNav codec
NAVIGATION_SUITES = frozenset({"pointnav", "habitat"})


def codec_family(env_name: str) -> str:
    """``"pointnav"`` or ``"vima"``: the codec family of an environment name (or comma-separated list)."""
    suites = {EnvName.parse(part.strip()).suite for part in env_name.split(",") if part.strip()}
    families = {"pointnav" if suite in NAVIGATION_SUITES else "vima" for suite in suites}
    if len(families) != 1:
        raise ValueError(
            f"{env_name!r} mixes navigation and tabletop suites; one UIO-2 policy speaks one codec: "
            "evaluate them separately"
        )
    return families.pop()


def build_policy(
    spec: str,
    env_name: str,
    *,
    replan: str = "when_exhausted",
    generation: dict[str, Any] | None = None,
    device: str = "cpu",
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
) -> tuple[Policy, bool]:
    """The policy named ``spec`` and whether its environments must run in oracle mode.

    ``env_kwargs`` (``make_env`` options) are only used to build a probe environment for ``random``'s
    action space; navigation suites need none (PointNav is always Discrete(4)).
    """
    if spec == "oracle":
        return OraclePolicy(), True
    family = codec_family(env_name)
    if spec == "random":
        if family == "pointnav":
            return RandomPolicy(gym.spaces.Discrete(4), seed=seed), False
        probe = make_env(expand_env_name(env_name.split(",")[0].strip())[0], **(env_kwargs or {}))
        try:
            return RandomPolicy(probe.action_space, seed=seed), False
        finally:
            probe.close()
    if spec == "random_walk":
        if family != "pointnav":
            raise ValueError(f"policy 'random_walk' is for navigation suites, not {env_name!r}; use 'random'")
        from uio_agent.agent.nav_policy import RandomWalkPolicy

        return RandomWalkPolicy(seed=seed), False
    settings = GenerationSettings(**(generation or {}))
    if spec.startswith("uio:"):
        from uio_agent.model import PreprocessConfig, UIOConfig, UIOModel

        config = UIOConfig.preset(spec.removeprefix("uio:"))
        torch.manual_seed(seed)
        preprocess = PreprocessConfig.from_model_config(config)
        if family == "pointnav":
            from uio_agent.agent.nav_policy import UIONavPolicy
            from uio_agent.codecs.pointnav import PointNavCodec

            return UIONavPolicy(
                UIOModel(config),
                PointNavCodec(preprocess=preprocess),
                generation=settings,
                device=device,
                seed=seed,
            ), False
        from uio_agent.codecs.vima import VimaCodec

        codec = VimaCodec(preprocess=preprocess)
        return UIOPolicy(
            UIOModel(config), codec, replan=replan, generation=settings, device=device, seed=seed
        ), False
    if Path(spec).is_dir():
        saved = _checkpoint_family(Path(spec))
        if saved != family:
            raise ValueError(
                f"checkpoint {spec} was saved for the {saved!r} codec but {env_name!r} needs {family!r}"
            )
        if family == "pointnav":
            from uio_agent.agent.nav_policy import UIONavPolicy

            return UIONavPolicy.from_pretrained(spec, generation=settings, device=device, seed=seed), False
        return UIOPolicy.from_pretrained(
            spec, replan=replan, generation=settings, device=device, seed=seed
        ), False
    raise ValueError(
        f"unknown policy {spec!r}: use 'oracle', 'random', 'random_walk' (navigation), 'uio:<preset>' "
        "(e.g. uio:tiny) or a checkpoint folder"
    )


def _checkpoint_family(folder: Path) -> str:
    """The ``family`` in a checkpoint's ``codec.json`` (``vima`` for folders written before families)."""
    path = folder / "codec.json"
    if not path.is_file():
        raise CheckpointError(f"{path} not found: a checkpoint folder holds codec.json")
    try:
        return str(json.loads(path.read_text()).get("family", "vima"))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path} is not valid JSON: {err}") from err
