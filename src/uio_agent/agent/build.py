"""Policies from their command-line names: ``oracle``, ``random``, ``random_walk`` (navigation: never
ends its episode, for next-frame / next-action data), ``uio:<preset>``, or a checkpoint folder.

A UIO-2 policy needs the codec of its environment family: PointNav suites (``pointnav``, ``habitat``)
get the PointNav codec and :class:`UIONavPolicy`, ObjectNav suites (``objectnav``, ``thor``) the
ObjectNav codec and :class:`UIOObjectNavPolicy`, the others the VIMA codec and :class:`UIOPolicy`. A
checkpoint folder says which family it was trained for in ``codec.json``; a mismatch is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import torch

from uio_agent.agent.policy import GenerationSettings, OraclePolicy, Policy, RandomPolicy, UIOPolicy
from uio_agent.codecs.families import one_family
from uio_agent.envs.registry import expand_env_name, make_env
from uio_agent.model.checkpoint import CheckpointError

if TYPE_CHECKING:
    from uio_agent.agent.nav_policy import UIONavPolicy

#: the Discrete(n) action count of each navigation family (no probe environment needed)
NAVIGATION_ACTIONS = {"pointnav": 4, "objectnav": 6}


def codec_family(env_name: str) -> str:
    """``"pointnav"``, ``"objectnav"`` or ``"vima"``: the codec family of an environment name (or a
    comma-separated list of names)."""
    names = [part.strip() for part in env_name.split(",") if part.strip()]
    return one_family(names, repr(env_name), remedy="evaluate them separately")


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
    action space; navigation suites need none (PointNav is always Discrete(4), ObjectNav Discrete(6)).
    """
    if spec == "oracle":
        return OraclePolicy(), True
    family = codec_family(env_name)
    if spec == "random":
        if family in NAVIGATION_ACTIONS:
            return RandomPolicy(gym.spaces.Discrete(NAVIGATION_ACTIONS[family]), seed=seed), False
        probe = make_env(expand_env_name(env_name.split(",")[0].strip())[0], **(env_kwargs or {}))
        try:
            return RandomPolicy(probe.action_space, seed=seed), False
        finally:
            probe.close()
    if spec == "random_walk":
        if family not in NAVIGATION_ACTIONS:
            raise ValueError(f"policy 'random_walk' is for navigation suites, not {env_name!r}; use 'random'")
        from uio_agent.agent.nav_policy import OBJECTNAV_WALK, POINTNAV_WALK, RandomWalkPolicy

        walk = OBJECTNAV_WALK if family == "objectnav" else POINTNAV_WALK
        return RandomWalkPolicy(seed=seed, actions=walk), False
    settings = GenerationSettings(**(generation or {}))
    if spec.startswith("uio:"):
        from uio_agent.model import PreprocessConfig, UIOConfig, UIOModel

        config = UIOConfig.preset(spec.removeprefix("uio:"))
        torch.manual_seed(seed)
        preprocess = PreprocessConfig.from_model_config(config)
        if family in NAVIGATION_ACTIONS:
            nav_class = _nav_policy_class(family)
            return nav_class(
                UIOModel(config),
                nav_class.codec_class(preprocess=preprocess),
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
        if family in NAVIGATION_ACTIONS:
            return _nav_policy_class(family).from_pretrained(
                spec, generation=settings, device=device, seed=seed
            ), False
        return UIOPolicy.from_pretrained(
            spec, replan=replan, generation=settings, device=device, seed=seed
        ), False
    raise ValueError(
        f"unknown policy {spec!r}: use 'oracle', 'random', 'random_walk' (navigation), 'uio:<preset>' "
        "(e.g. uio:tiny) or a checkpoint folder"
    )


def _nav_policy_class(family: str) -> type[UIONavPolicy]:
    """The UIO-2 policy class of a navigation codec family (imported lazily: it loads the model code)."""
    from uio_agent.agent.nav_policy import UIONavPolicy, UIOObjectNavPolicy

    return UIOObjectNavPolicy if family == "objectnav" else UIONavPolicy


def _checkpoint_family(folder: Path) -> str:
    """The ``family`` in a checkpoint's ``codec.json`` (``vima`` for folders written before families)."""
    path = folder / "codec.json"
    if not path.is_file():
        raise CheckpointError(f"{path} not found: a checkpoint folder holds codec.json")
    try:
        return str(json.loads(path.read_text()).get("family", "vima"))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path} is not valid JSON: {err}") from err
