"""A packed batch gives the same logits, per-example losses and gradients as the padded batch, and no
attention crosses examples."""

from __future__ import annotations

import random

import pytest
import torch

from uio_agent.model import ModelInputs, UIOConfig, UIOModel
from uio_agent.model.layers import Attention, PackedAttention, Rotary, mask_to_bias
from uio_agent.train.examples import Example, collate
from uio_agent.train.objectives import TextObjective
from uio_agent.train.packing import packed_logits, unpack

TINY = UIOConfig.preset("tiny")


def random_examples(n: int, seed: int = 0) -> list[Example]:
    """Examples of different text, history and target lengths (so the padded batch has padding)."""
    rng = random.Random(seed)
    g = torch.Generator().manual_seed(seed)
    out = []
    for k in range(n):
        text = torch.randint(3, 3000, (1, rng.randint(3, 12)), generator=g)
        frames = rng.randint(0, 3)
        inputs = ModelInputs(
            text_tokens=text,
            image_patches=torch.randn(1, 16, TINY.patch_dim, generator=g),
            image_history_patches=torch.randn(1, frames, 4, TINY.patch_dim, generator=g) if frames else None,
        )
        targets = [rng.randrange(3, 33000) for _ in range(rng.randint(2, 9))] + [1]
        out.append(Example(inputs, targets, ("fake", k, 0)))
    return out


@pytest.fixture(scope="module")
def model() -> UIOModel:
    torch.manual_seed(0)
    return UIOModel(TINY).eval()


@torch.no_grad()
def test_packed_and_padded_logits_and_losses_match_per_example(model: UIOModel) -> None:
    examples = random_examples(7)
    objective = TextObjective()
    batch = collate(examples)
    padded_logits = model(batch)["text"]
    padded = objective(padded_logits, batch.targets.target_tokens, batch.targets.mask)

    logits, targets = packed_logits(model, examples)
    lengths = [e.decoder_length for e in examples]
    assert logits.shape[:2] == (1, sum(lengths))
    rows = unpack(logits, lengths)
    valid = batch.targets.mask.bool()
    assert (rows[valid] - padded_logits[valid]).abs().max() <= 1e-5
    assert torch.equal(unpack(targets.target_tokens[..., None], lengths)[..., 0], batch.targets.target_tokens)

    per_example = objective(rows, batch.targets.target_tokens, batch.targets.mask).per_example
    assert (per_example - padded.per_example).abs().max() <= 1e-5
    packed = objective(logits, targets.target_tokens, targets.mask)
    assert packed.tokens == padded.tokens
    assert abs(float(packed.loss - padded.loss)) <= 1e-5


def test_packed_and_padded_gradients_match(model: UIOModel) -> None:
    examples = random_examples(5, seed=2)
    objective = TextObjective()

    def gradients(packed: bool) -> dict[str, torch.Tensor]:
        model.zero_grad(set_to_none=True)
        if packed:
            logits, targets = packed_logits(model, examples)
        else:
            batch = collate(examples)
            logits, targets = model(batch)["text"], batch.targets
        objective(logits, targets.target_tokens, targets.mask).loss.backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    padded, packed = gradients(False), gradients(True)
    model.zero_grad(set_to_none=True)
    assert padded.keys() == packed.keys()
    for name, grad in padded.items():
        assert (grad - packed[name]).abs().max() <= 1e-5 * max(1.0, float(grad.abs().max())), name


@torch.no_grad()
def test_no_attention_crosses_packed_examples(model: UIOModel) -> None:
    """Changing one example's inputs and targets leaves the other's logits untouched."""
    a, b = random_examples(2, seed=3)
    logits1, _ = packed_logits(model, [a, b])
    b.inputs.text_tokens = b.inputs.text_tokens.flip(-1) + 5
    b.target_ids = [7, 8, 9, 1]
    logits2, _ = packed_logits(model, [a, b])
    n = a.decoder_length
    assert (logits1[0, :n] - logits2[0, :n]).abs().max() <= 1e-5  # only rounding from other row lengths
    assert not torch.allclose(logits1[0, n : n + 3], logits2[0, n : n + 3])


@pytest.mark.parametrize("causal", [False, True])
def test_packed_attention_equals_a_block_diagonal_mask(causal: bool) -> None:
    """Lengths that fall into several buckets, with padding keys inside a bucket."""
    torch.manual_seed(0)
    queries = [2, 3, 19, 40, 7, 37, 100, 1]
    keys = queries if causal else [5, 200, 150, 120, 90, 260, 160, 30]
    packed = PackedAttention(queries, keys, causal=causal)
    assert len(packed.buckets) > 2
    attention = Attention(32, 2, 16)
    x_q = torch.randn(1, sum(queries), 32)
    x_k = x_q if causal else torch.randn(1, sum(keys), 32)
    rotary_q = Rotary(torch.randn(1, sum(queries), 8))
    rotary_k = rotary_q if causal else Rotary(torch.randn(1, sum(keys), 8))

    q_block = torch.repeat_interleave(torch.arange(len(queries)), torch.tensor(queries))
    k_block = torch.repeat_interleave(torch.arange(len(keys)), torch.tensor(keys))
    allowed = q_block[:, None] == k_block[None, :]
    if causal:
        allowed &= torch.ones(len(q_block), len(k_block), dtype=torch.bool).tril()
    dense = attention(x_q, x_k, mask_to_bias(allowed[None]), rotary_q, rotary_k)
    assert (attention(x_q, x_k, packed, rotary_q, rotary_k) - dense).abs().max() <= 1e-5


def test_bad_packing_inputs_are_rejected_with_the_reason(model: UIOModel) -> None:
    (example,) = random_examples(1)
    example.inputs.text_tokens = torch.zeros_like(example.inputs.text_tokens)  # all padding
    example.inputs.image_mask = torch.zeros(1, 16, dtype=torch.int32)
    example.inputs.image_history_patches = None
    with pytest.raises(ValueError, match="no valid encoder token"):
        packed_logits(model, [example])
    with pytest.raises(ValueError, match="one packed row of 5 tokens"):
        unpack(torch.zeros(1, 4, 3), [2, 3])
    with pytest.raises(ValueError, match="2 query and 1 key blocks"):
        PackedAttention((2, 3), (4,))
    with pytest.raises(ValueError, match="one row of 5 queries and 4 keys"):
        Attention(32, 2, 16)(torch.zeros(1, 5, 32), torch.zeros(1, 5, 32), PackedAttention((2, 3), (1, 3)))
