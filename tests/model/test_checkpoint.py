"""Saving and loading model folders; clear errors for missing, truncated or mismatched files."""

from __future__ import annotations

import pytest
import torch

from uio_agent.model import Batch, TextTargets, UIOConfig, UIOModel
from uio_agent.model.checkpoint import CheckpointError, load_model, load_official, save_model


def test_save_and_load_round_trip(tmp_path) -> None:
    torch.manual_seed(0)
    model = UIOModel(UIOConfig.preset("tiny")).eval()
    save_model(model, tmp_path / "ckpt")
    save_model(model, tmp_path / "ckpt")  # overwriting an existing folder is atomic too
    loaded = load_model(tmp_path / "ckpt")
    assert loaded.config == model.config
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_truncated_weights_name_the_file(tmp_path) -> None:
    model = UIOModel(UIOConfig.preset("tiny"))
    save_model(model, tmp_path / "ckpt")
    weights = tmp_path / "ckpt" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=r"model\.safetensors"):
        load_model(tmp_path / "ckpt")


def test_missing_files_and_mismatched_configs(tmp_path) -> None:
    with pytest.raises(CheckpointError, match=r"config\.json"):
        load_official(tmp_path)
    model = UIOModel(UIOConfig.preset("tiny"))
    save_model(model, tmp_path / "ckpt")
    cfg = (
        (tmp_path / "ckpt" / "config.json")
        .read_text()
        .replace('"num_decoder_layers": 2', '"num_decoder_layers": 3')
    )
    (tmp_path / "ckpt" / "config.json").write_text(cfg)
    with pytest.raises(CheckpointError, match="missing"):
        load_model(tmp_path / "ckpt")


def test_official_fixture_loads_strictly_and_runs(official_fixture, tmp_path) -> None:
    root = official_fixture("uio2-official-tiny")
    model = load_official(root, weights="weights.safetensors")
    save_model(model, tmp_path / "ours")
    again = load_model(tmp_path / "ours")
    tokens = torch.tensor([[33218, 500, 1]])
    from uio_agent.model import ModelInputs

    batch = Batch(ModelInputs(text_tokens=tokens), TextTargets.from_targets(torch.tensor([[7, 1]])))
    with torch.no_grad():
        assert torch.equal(model(batch)["text"], again(batch)["text"])
