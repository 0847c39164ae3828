"""The packaged Hydra configs (``eval``, ``collect``, ``train``, ``quickstart``, the ``recipe`` group)
and :func:`compose`, which reads them the way the command line does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def compose(name: str, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Hydra's Compose API over the packaged config ``name`` with ``key=value`` overrides, as a plain dict;
    a missing required option is a ``SystemExit`` naming it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from omegaconf import OmegaConf

    with initialize_config_module(config_module="uio_agent.configs", version_base=None):
        cfg = hydra_compose(config_name=name, overrides=list(overrides))
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        raise SystemExit(
            f"uio-agent {name}: missing required option(s): {', '.join(f'{k}=...' for k in missing)}"
        )
    container = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(container, dict)
    return {str(k): v for k, v in container.items()}


def recipe(name: str) -> dict[str, Any]:
    """The ``TrainConfig`` options of ``train.yaml`` with the named recipe applied (no dataset, no out)."""
    options = compose("train", [f"recipe={name}", "dataset=[]", "out=unused"])
    del options["dataset"], options["out"]
    return options
