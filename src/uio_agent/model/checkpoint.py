"""Loading official allenai checkpoints and saving/loading the project's own model folders.

Official folders hold ``config.json`` (the port's ``Config.to_dict()``) and ``pytorch_model.bin``
(or a user-converted ``*.safetensors``). The model is built on the meta device and the weights are
assigned, so a 27 GB XXL checkpoint is memory-mapped, never copied twice. Keys of parts this
implementation does not build (audio streams, image/audio targets) are dropped by name, and only
those: any other mismatch is an error.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from uio_agent.model.config import UIOConfig
from uio_agent.model.uio import UIOModel

#: official key prefixes of modules that are not built when their modality is off
UNBUILT_PREFIXES = {
    "image": ("input_embedders.image.",),
    "image_history": ("input_embedders.image_history.",),
    "audio": ("input_embedders.audio.",),
    "audio_history": ("input_embedders.audio_history.",),
    "image_target": ("image_token_embedder.", "target_embedders.image."),
    "audio_target": ("audio_token_embedder.", "target_embedders.audio."),
}

#: keys a checkpoint's config.json may hold besides the model config
EXTRA_CONFIG_KEYS = ("tokenizer_sha256",)

WEIGHT_FILES = ("pytorch_model.bin", "model.safetensors", "weights.safetensors")


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, truncated, corrupt or does not match the model."""


def skipped_prefixes(config: UIOConfig) -> tuple[str, ...]:
    """Official key prefixes that ``config`` does not build (named explicitly, never guessed)."""
    off = {"audio", "audio_history", "image_target", "audio_target"}
    off |= {m for m in ("image", "image_history") if m not in config.input_modalities}
    return tuple(prefix for name in sorted(off) for prefix in UNBUILT_PREFIXES[name])


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read ``.bin`` (``torch.load(weights_only=True, mmap=True)``) or ``.safetensors`` weights."""
    try:
        if path.suffix == ".safetensors":
            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # the libraries raise many types for truncated or corrupt files
        raise CheckpointError(f"cannot read weights from {path}: {err}") from err
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} does not hold a state dict (got {type(state).__name__})")
    return state


def load_weights(model: UIOModel, state: dict[str, torch.Tensor], *, assign: bool = False) -> list[str]:
    """Load ``state`` strictly after dropping the official keys of unbuilt modules; returns dropped keys."""
    prefixes = skipped_prefixes(model.config)
    dropped = [key for key in state if key.startswith(prefixes)]
    kept = {key: value for key, value in state.items() if not key.startswith(prefixes)}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(kept))
    unexpected = sorted(set(kept) - set(expected))
    bad_shapes = [
        f"{key}: checkpoint {tuple(kept[key].shape)} vs model {tuple(expected[key].shape)}"
        for key in set(kept) & set(expected)
        if kept[key].shape != expected[key].shape
    ]
    if missing or unexpected or bad_shapes:
        raise CheckpointError(
            "checkpoint does not match the model config: "
            f"missing {missing[:8]}{'...' if len(missing) > 8 else ''}; "
            f"unexpected {unexpected[:8]}{'...' if len(unexpected) > 8 else ''}; "
            f"shape mismatches {bad_shapes[:8]}"
        )
    model.load_state_dict(kept, strict=True, assign=assign)
    return dropped


def load_official(
    folder: str | os.PathLike[str], *, weights: str | None = None, dtype: torch.dtype | None = None
) -> UIOModel:
    """Build a :class:`UIOModel` from an official checkpoint folder (or the official-format fixtures)."""
    root = Path(folder)
    config_path = root / "config.json"
    if not config_path.is_file():
        raise CheckpointError(f"{config_path} not found: an official checkpoint folder holds config.json")
    try:
        config = UIOConfig.from_official(json.loads(config_path.read_text()))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{config_path} is not valid JSON: {err}") from err
    if weights is None:
        found = [root / name for name in WEIGHT_FILES if (root / name).is_file()]
        if not found:
            raise CheckpointError(f"no weights in {root}: expected one of {', '.join(WEIGHT_FILES)}")
        weights_path = found[0]
    else:
        weights_path = root / weights
    state = read_state_dict(weights_path)
    with torch.device("meta"):
        model = UIOModel(config)
    load_weights(model, state, assign=True)
    if dtype is not None:
        model = model.to(dtype)
    return model.eval()


def write_folder_atomically(folder: Path, write: Callable[[Path], None]) -> None:
    """Fill a temporary sibling folder with ``write(tmp)``, then rename it to ``folder``: readers see the
    old folder or the new one, never a half-written one (an existing folder is replaced)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    try:
        write(tmp)
        if folder.exists():
            backup = folder.with_name(f".{folder.name}.old")
            if backup.exists():
                shutil.rmtree(backup)
            folder.rename(backup)
            tmp.rename(folder)
            shutil.rmtree(backup)
        else:
            tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_model_files(model: UIOModel, folder: Path, extra_config: dict[str, Any] | None = None) -> None:
    """``model.safetensors`` + ``config.json`` (the model config, plus ``extra_config`` keys) into ``folder``."""
    state = {key: value.detach().contiguous().cpu() for key, value in model.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(
        json.dumps({**model.config.to_dict(), **(extra_config or {})}, indent=1)
    )


def save_model(model: UIOModel, folder: str | os.PathLike[str]) -> None:
    """Write ``model.safetensors`` + ``config.json`` atomically."""
    write_folder_atomically(Path(folder), lambda tmp: write_model_files(model, tmp))


def load_model(folder: str | os.PathLike[str]) -> UIOModel:
    """Inverse of :func:`save_model`."""
    root = Path(folder)
    for name in ("config.json", "model.safetensors"):
        if not (root / name).is_file():
            raise CheckpointError(
                f"{root / name} not found: a model folder holds config.json and model.safetensors"
            )
    try:
        data = json.loads((root / "config.json").read_text())
        config = UIOConfig.from_dict({k: v for k, v in data.items() if k not in EXTRA_CONFIG_KEYS})
    except (json.JSONDecodeError, TypeError, ValueError) as err:
        raise CheckpointError(f"{root / 'config.json'} is not a valid model config: {err}") from err
    with torch.device("meta"):
        model = UIOModel(config)
    load_weights(model, read_state_dict(root / "model.safetensors"), assign=True)
    return model.eval()
