"""Properties of the network that must hold for any weights: caching, masking, RoPE, meta builds."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from uio_agent.model import Batch, ModelInputs, TextTargets, UIOConfig, UIOModel
from uio_agent.model.layers import MASK_BIAS, Rotary, dot_product_attention, grid_angles, rope_angles_1d


def make_inputs(config: UIOConfig, batch: int = 2, frames: int = 3, seed: int = 0) -> ModelInputs:
    g = torch.Generator().manual_seed(seed)
    n_img = config.image_input_grid[0] * config.image_input_grid[1]
    n_hist = config.image_history_grid[0] * config.image_history_grid[1]
    tokens = torch.randint(3, 32000, (batch, 10), generator=g)
    tokens[:, -3:] = 0  # padding
    return ModelInputs(
        text_tokens=tokens,
        image_patches=torch.randn(batch, n_img, config.patch_dim, generator=g),
        image_history_patches=torch.randn(batch, frames, n_hist, config.patch_dim, generator=g),
    )


@pytest.fixture(scope="module")
def tiny() -> UIOModel:
    torch.manual_seed(0)
    return UIOModel(UIOConfig.preset("tiny")).eval()


@torch.no_grad()
def test_kv_cached_decoding_equals_full_forward(tiny: UIOModel) -> None:
    inputs = make_inputs(tiny.config)
    result = tiny.generate(
        inputs,
        max_new_tokens=12,
        method="sample",
        generator=torch.Generator().manual_seed(1),
        return_step_logits=True,
    )
    assert result.step_logits is not None
    steps = result.tokens.shape[1]
    fed = torch.cat([torch.zeros_like(result.tokens[:, :1]), result.tokens[:, :-1]], dim=1)
    full = tiny(Batch(inputs, TextTargets(fed, mask=torch.ones_like(fed))))["text"]
    assert (full - result.step_logits).abs().max() <= 1e-5
    assert steps == 12


@torch.no_grad()
def test_padding_and_masked_tokens_do_not_change_valid_outputs(tiny: UIOModel) -> None:
    inputs = make_inputs(tiny.config, frames=3)
    targets = TextTargets.from_targets(torch.tensor([[5, 6, 7, 1, 0, 0], [8, 9, 1, 0, 0, 0]]))
    base = tiny(Batch(inputs, targets))["text"]
    base_encoded = tiny.encode(inputs)

    changed = ModelInputs(**vars(inputs))
    changed.text_tokens = inputs.text_tokens.clone()
    changed.text_mask = (inputs.text_tokens != 0).int()
    changed.text_tokens[:, -3:] = 777  # padded slots now hold junk, still masked out
    image_mask = torch.ones(inputs.image_patches.shape[:2], dtype=torch.int32)
    image_mask[:, -5:] = 0
    changed.image_mask = image_mask
    masked_inputs = ModelInputs(**vars(changed))
    masked_inputs.image_patches = inputs.image_patches.clone()
    masked_inputs.image_patches[:, -5:] += 100.0  # masked patches change
    ref = tiny(Batch(changed, targets))["text"]
    out = tiny(Batch(masked_inputs, targets))["text"]
    valid = targets.mask.bool()
    assert (base[valid] - tiny(Batch(changed, targets))["text"][valid]).abs().max() > 0  # image mask matters
    assert (ref[valid] - out[valid]).abs().max() <= 1e-5

    # an absent history frame (all patches masked) and its content do not matter
    hist_mask = torch.ones(inputs.image_history_patches.shape[:3], dtype=torch.int32)
    hist_mask[:, 2] = 0
    a = ModelInputs(**vars(inputs))
    a.image_history_mask = hist_mask
    b = ModelInputs(**vars(a))
    b.image_history_patches = inputs.image_history_patches.clone()
    b.image_history_patches[:, 2] = -50.0
    two_frames = ModelInputs(**vars(inputs))
    two_frames.image_history_patches = inputs.image_history_patches[:, :2]
    la, lb, l2 = (tiny(Batch(x, targets))["text"] for x in (a, b, two_frames))
    assert (la[valid] - lb[valid]).abs().max() <= 1e-5
    assert (la[valid] - l2[valid]).abs().max() <= 1e-5
    # padded decoder positions do not influence valid ones
    junk = TextTargets(targets.input_tokens.clone(), targets.target_tokens, targets.mask)
    junk.input_tokens[~valid] = 4242
    lj = tiny(Batch(inputs, junk))["text"]
    assert (lj[valid] - base[valid]).abs().max() <= 1e-5
    assert base_encoded.hidden.isfinite().all()


def test_2d_rope_rotates_first_half_by_row_second_by_column() -> None:
    head_dim = 16
    angles = grid_angles(3, 4, head_dim)  # [12, 8]
    rows = torch.arange(3).repeat_interleave(4)
    cols = torch.arange(4).repeat(3)
    half = head_dim // 4
    for index in range(12):
        first, second = angles[index, :half], angles[index, half:]
        theta = 10000.0 ** (-torch.arange(0, head_dim // 2, 2).float() / (head_dim // 2))
        assert torch.allclose(first, rows[index] * theta)
        assert torch.allclose(second, cols[index] * theta)
    # rotating a vector whose second half is zero only depends on the row
    x = torch.zeros(1, 12, 1, head_dim)
    x[..., : head_dim // 2] = torch.randn(head_dim // 2)
    y = Rotary(angles[None]).apply(x)
    same_row = y[0, 0:4, 0, : head_dim // 2]
    assert torch.allclose(same_row, same_row[:1].expand_as(same_row), atol=1e-6)
    assert torch.equal(y[..., head_dim // 2 :], torch.zeros_like(y[..., head_dim // 2 :]))
    assert not torch.allclose(y[0, 0], y[0, 4])


def test_rope_scores_depend_only_on_relative_position() -> None:
    g = torch.Generator().manual_seed(0)
    q = torch.randn(1, 1, 1, 32, generator=g)
    k = torch.randn(1, 1, 1, 32, generator=g)

    def score(pq: int, pk: int) -> float:
        rq = Rotary(rope_angles_1d(torch.tensor([[pq]]), 32)).apply(q)
        rk = Rotary(rope_angles_1d(torch.tensor([[pk]]), 32)).apply(k)
        return float((rq * rk).sum())

    assert score(7, 3) == pytest.approx(score(104, 100), abs=1e-4)
    assert score(0, 5) == pytest.approx(score(20, 25), abs=1e-4)
    assert score(7, 3) != pytest.approx(score(7, 4), abs=1e-4)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("causal", [False, True])
def test_cpu_attention_equals_sdpa_in_value_and_gradient(dtype: torch.dtype, causal: bool) -> None:
    """The written-out CPU attention is SDPA's function: masked keys, fully masked rows, causal.

    Gradients are compared on rows with a valid key: a fully masked row is a padding query whose
    output no loss reads (its value is the uniform average either way)."""
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 7, 16, generator=g, dtype=dtype, requires_grad=True) for _ in range(3))
    bias, read = None, torch.ones(2, 1, 7, 1)
    if not causal:
        valid = torch.rand(2, 1, 7, 7, generator=g) > 0.3
        valid[0, 0, 2] = False  # a row with no valid key averages uniformly, as the official model
        bias = torch.where(valid, 0.0, MASK_BIAS).to(dtype)
        read = valid.any(-1, keepdim=True).float()
    ours = dot_product_attention(q, k, v, bias, scale=0.3, is_causal=causal)
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, is_causal=causal, scale=0.3)
    tol = 1e-5 if dtype == torch.float32 else 2e-2
    torch.testing.assert_close(ours, theirs, atol=tol, rtol=tol)
    grads = torch.autograd.grad((ours.float().square() * read).sum(), (q, k, v))
    expected = torch.autograd.grad((theirs.float().square() * read).sum(), (q, k, v))
    for a, b in zip(grads, expected, strict=True):
        torch.testing.assert_close(a, b, atol=tol * 4, rtol=tol)


@torch.no_grad()
def test_meta_device_build_with_assign_equals_cpu_build(tiny: UIOModel) -> None:
    with torch.device("meta"):
        meta = UIOModel(tiny.config)
    meta.load_state_dict(tiny.state_dict(), strict=True, assign=True)
    meta.eval()
    inputs = make_inputs(tiny.config)
    targets = TextTargets.from_targets(torch.tensor([[5, 6, 1], [7, 1, 0]]))
    assert torch.equal(meta(Batch(inputs, targets))["text"], tiny(Batch(inputs, targets))["text"])
    assert not any(t.is_meta for t in meta.state_dict().values())


@pytest.mark.parametrize("method", ["greedy", "sample", "beam"])
@torch.no_grad()
def test_constrained_decoding_never_emits_disallowed_tokens(tiny: UIOModel, method: str) -> None:
    vocab = tiny.config.vocab_size
    digits = torch.tensor([100, 200, 300])

    def allowed(prefix: torch.Tensor) -> torch.Tensor:
        mask = torch.zeros(prefix.shape[0], vocab, dtype=torch.bool)
        if prefix.shape[1] < 4:
            mask[:, digits] = True  # exactly four digits, then EOS
        else:
            mask[:, 1] = True
        return mask

    banned = torch.zeros(vocab, dtype=torch.bool)
    banned[200] = True
    result = tiny.generate(
        make_inputs(tiny.config),
        max_new_tokens=10,
        method=method,
        allowed_tokens=allowed,
        banned_tokens=banned,
        generator=torch.Generator().manual_seed(3),
    )
    for row in result.tokens.tolist():
        assert row[:5] == [t for t in row[:4] if t in (100, 300)] + [1]
        assert all(t == 0 for t in row[5:])


def test_bad_inputs_name_the_field_and_limit(tiny: UIOModel) -> None:
    cfg = tiny.config
    good = make_inputs(cfg, batch=1)
    cases = {
        "text_tokens has ids outside": ModelInputs(text_tokens=torch.tensor([[5, cfg.vocab_size]])),
        "encoder_max_text_length=512": ModelInputs(text_tokens=torch.ones(1, 513, dtype=torch.long)),
        "max_frames=8": ModelInputs(
            text_tokens=good.text_tokens,
            image_history_patches=torch.zeros(1, 9, 4, cfg.patch_dim),
        ),
        "image_patches has shape": ModelInputs(
            text_tokens=good.text_tokens, image_patches=torch.zeros(1, 16, 7)
        ),
        "image_patches has 17 patches": ModelInputs(
            text_tokens=good.text_tokens, image_patches=torch.zeros(1, 17, cfg.patch_dim)
        ),
        "must be an integer tensor": ModelInputs(text_tokens=torch.zeros(1, 3)),
    }
    for message, inputs in cases.items():
        with pytest.raises(ValueError, match=message):
            tiny.encode(inputs)
    encoded = tiny.encode(good)
    with pytest.raises(ValueError, match="decoder_max_text_length=512"):
        tiny.decode(encoded, TextTargets(torch.zeros(1, 513, dtype=torch.long)))
    with pytest.raises(ValueError, match="max_new_tokens"):
        tiny.generate(good, max_new_tokens=513)
    with pytest.raises(ValueError, match="method"):
        tiny.generate(good, method="nucleus")


def test_config_rejects_inconsistent_values() -> None:
    with pytest.raises(ValueError, match="emb_dim"):
        UIOConfig.preset("tiny", num_heads=3)
    with pytest.raises(ValueError, match="preset"):
        UIOConfig.preset("huge")
    with pytest.raises(ValueError, match="image_input_size"):
        UIOConfig.preset("tiny", image_input_size=(60, 64))
    with pytest.raises(ValueError, match="target_modalities"):
        UIOConfig.preset("tiny", target_modalities=("image",))
    cfg = UIOConfig.preset("small")
    assert UIOConfig.from_dict(cfg.to_dict()) == cfg
