"""Our model against tensors produced by the official PyTorch port on the same weights and inputs."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from uio_agent.model import Batch, ModelInputs, TextTargets
from uio_agent.model.checkpoint import load_official

TOL = 1e-4


@pytest.fixture(scope="module", params=["uio2-official-tiny", "uio2-official-tiny-cosine"])
def case(request: pytest.FixtureRequest, official_fixture):
    root = official_fixture(request.param)
    model = load_official(root, weights="weights.safetensors")
    inputs = load_file(str(root / "inputs.safetensors"))
    expected = load_file(str(root / "expected.safetensors"))
    model_inputs = ModelInputs(
        text_tokens=inputs["text_tokens"],
        text_mask=inputs["text_mask"],
        text_pos_ids=inputs["text_pos_ids"],
        image_patches=inputs["image_patches"],
        image_mask=inputs["image_mask"],
        image_pos_ids=inputs["image_pos_ids"],
        image_history_patches=inputs["image_history_patches"],
        image_history_mask=inputs["image_history_mask"],
        image_history_pos_ids=inputs["image_history_pos_ids"],
    )
    targets = TextTargets(
        inputs["decoder_input_tokens"],
        inputs["decoder_target_tokens"],
        inputs["decoder_mask"],
        inputs["decoder_pos_ids"],
    )
    return model, model_inputs, targets, expected


def test_config_matches_fixture_choice(case) -> None:
    model, _, _, _ = case
    cfg = model.config
    assert (cfg.emb_dim, cfg.num_heads, cfg.head_dim, cfg.vit.num_layers) == (128, 2, 64, 4)
    assert cfg.image_input_grid == (24, 24) and cfg.image_history_grid == (16, 16)


@torch.no_grad()
def test_history_embedder_and_encoder_match(case) -> None:
    model, inputs, _, expected = case
    seq = model.embed_inputs(inputs)
    valid = expected["encoder_mask"][0].bool()
    assert torch.equal(seq.mask[0].bool(), valid)
    text, image = 24, 576
    assert (seq.embed[:, text : text + image] - expected["image_embed"]).abs().max() <= TOL
    assert (seq.embed[:, text + image :] - expected["image_history_embed"]).abs().max() <= TOL
    assert (seq.embed - expected["encoder_input_embed"]).abs().max() <= TOL
    # RoPE rows of every encoder position, in the official [cos, sin] interleaved table layout
    table = torch.stack([seq.angles.cos(), seq.angles.sin()], dim=-1).flatten(-2)
    assert (table - expected["encoder_position_embed"]).abs().max() <= 1e-5
    encoded = model.encode_sequence(seq)
    assert (encoded.hidden[0, valid] - expected["encoder_hidden"][0, valid]).abs().max() <= TOL


@torch.no_grad()
def test_teacher_forced_text_logits_match(case) -> None:
    model, inputs, targets, expected = case
    logits = model(Batch(inputs, targets))["text"]
    valid = targets.mask[0].bool()
    assert (logits[0, valid] - expected["text_logits"][0, valid]).abs().max() <= TOL


@torch.no_grad()
def test_greedy_generation_matches(case) -> None:
    model, inputs, _, expected = case
    result = model.generate(inputs, max_new_tokens=8, return_step_logits=True)
    assert torch.equal(result.tokens, expected["generated_tokens"][:, 1:])
    assert (result.step_logits - expected["generate_step_logits"]).abs().max() <= TOL
