"""Official sizes: parameter names, shapes and per-layer counts of the Large/XL/XXL presets."""

from __future__ import annotations

import json
import re

import pytest
import torch

from uio_agent.model import UIOConfig, UIOModel
from uio_agent.model.checkpoint import UNBUILT_PREFIXES, skipped_prefixes


def meta_model(preset: str) -> UIOModel:
    with torch.device("meta"):
        return UIOModel(UIOConfig.preset(preset))


def test_large_names_and_shapes_match_the_official_key_list(shared_reference) -> None:
    keys_file = shared_reference("uio2-large-state-dict-keys.txt")
    official: dict[str, tuple[int, ...]] = {}
    for line in keys_file.read_text().splitlines():
        match = re.match(r"^(\S+) \(([\d, ]*)\)$", line)
        if match:
            official[match[1]] = tuple(int(x) for x in match[2].split(",") if x.strip())
    assert len(official) == 1625
    ours = {k: tuple(v.shape) for k, v in meta_model("large").state_dict().items()}
    skipped = skipped_prefixes(UIOConfig.preset("large"))
    built_official = {k: v for k, v in official.items() if not k.startswith(skipped)}
    assert ours == built_official
    # what is skipped is exactly the audio streams and the image/audio targets
    assert {
        k.split(".")[0] + "." + k.split(".")[1] for k in official if k.startswith(skipped) and "." in k
    } >= {
        "input_embedders.audio",
        "target_embedders.image",
    }
    assert set(skipped) == set(
        UNBUILT_PREFIXES["audio"]
        + UNBUILT_PREFIXES["audio_history"]
        + UNBUILT_PREFIXES["image_target"]
        + UNBUILT_PREFIXES["audio_target"]
    )


@pytest.mark.parametrize(
    ("preset", "encoder_layer", "decoder_layer"),
    [
        ("large", 12_847_232, 17_042_688),
        (
            "xl",
            4 * 2048 * 2048 + 2 * 128 + 2 * 2048 + 3 * 2048 * 5120,
            8 * 2048 * 2048 + 4 * 128 + 3 * 2048 + 3 * 2048 * 5120,
        ),
        (
            "xxl",
            4 * 3072 * 3072 + 2 * 128 + 2 * 3072 + 3 * 3072 * 8192,
            8 * 3072 * 3072 + 4 * 128 + 3 * 3072 + 3 * 3072 * 8192,
        ),
    ],
)
def test_per_layer_parameter_counts(preset: str, encoder_layer: int, decoder_layer: int) -> None:
    model = meta_model(preset)
    assert model.num_parameters("encoder.layers_0.") == encoder_layer
    assert model.num_parameters("decoder.layers_23.") == decoder_layer
    assert sum(1 for n, _ in model.named_children() if n) == 5


def test_xxl_resampler_uses_scaled_cosine_with_per_head_scale() -> None:
    keys = meta_model("xxl").state_dict()
    prefix = "input_embedders.image_history.resampler.perceiver.layers_0.xattention."
    assert tuple(keys[prefix + "logit_scale"].shape) == (16,)
    assert prefix + "query_norm.scale" not in keys


def test_from_official_reads_the_port_config(official_fixture) -> None:
    root = official_fixture("uio2-official-tiny-cosine")
    config = UIOConfig.from_official(json.loads((root / "config.json").read_text()))
    assert config.image_history.scaled_cosine
    assert config.vit.num_layers == 4 and config.vit.pos_grid == 14
    assert config.image_rope_scale == pytest.approx(4 / 3)
    assert config.input_modalities == ("text", "image", "image_history")


def test_preset_nested_overrides_change_only_the_named_fields() -> None:
    small = UIOConfig.preset("small")
    changed = UIOConfig.preset("small", emb_dim=192, num_heads=3, vit={"num_layers": 2})
    assert changed.vit.num_layers == 2 and changed.emb_dim == 192
    assert changed.vit.emb_dim == small.vit.emb_dim and changed.image_history == small.image_history
    assert UIOConfig.from_dict(changed.to_dict()) == changed
