"""The codec part of a checkpoint folder: ``tokenizer.model``, ``codec.json``, ``preprocess.json``.

Every codec family stores the same three files (DESIGN.md, checkpoints); ``codec.json`` names the
family so a folder is never read with the wrong codec.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from uio_agent.model.preprocess import PreprocessConfig
from uio_agent.model.tokenizer import Tokenizer

CODEC_FILES = ("tokenizer.model", "codec.json", "preprocess.json")


def save_codec_files(
    folder: Path, tokenizer: Tokenizer, codec_config: dict[str, Any], preprocess: PreprocessConfig
) -> None:
    tokenizer.save(folder / "tokenizer.model")
    (folder / "codec.json").write_text(json.dumps(codec_config, indent=1))
    (folder / "preprocess.json").write_text(json.dumps(preprocess.to_dict(), indent=1))


def read_codec_files(
    folder: Path, family: str, tokenizer_sha256: str | None = None
) -> tuple[Tokenizer, PreprocessConfig, dict[str, Any]]:
    """The tokenizer, preprocessing config and ``codec.json`` of ``folder``; a missing file is a
    ``FileNotFoundError`` and another family a ``ValueError``, both naming the file."""
    for name in CODEC_FILES:
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name} not found: a checkpoint folder holds {name}")
    data = json.loads((folder / "codec.json").read_text())
    if data.get("family") != family:
        raise ValueError(f"{folder / 'codec.json'}: codec family {data.get('family')!r} is not {family!r}")
    tokenizer = Tokenizer.from_file(folder / "tokenizer.model", expected_sha256=tokenizer_sha256)
    return tokenizer, PreprocessConfig.from_dict(json.loads((folder / "preprocess.json").read_text())), data
