"""Packing gives the same per-example losses as unpacked batches, and pairs examples as the official code."""

from __future__ import annotations

import random

import torch

from uio_agent.model import ModelInputs, UIOConfig, UIOModel
from uio_agent.train.examples import Example, collate
from uio_agent.train.objectives import TextObjective
from uio_agent.train.packing import packed_logits, pair_examples

TINY = UIOConfig.preset("tiny")


def random_examples(n: int, seed: int = 0) -> list[Example]:
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


@torch.no_grad()
def test_packed_and_unpacked_losses_match_per_example() -> None:
    torch.manual_seed(0)
    model = UIOModel(TINY).eval()
    examples = random_examples(7)
    objective = TextObjective()
    batch = collate(examples)
    mask = batch.targets.mask
    unpacked = objective(model(batch)["text"], batch.targets.target_tokens, mask)
    groups = pair_examples([(40, e.decoder_length) for e in examples], max_encoder=100, max_decoder=20)
    assert any(len(g) == 2 for g in groups)
    assert sorted(i for g in groups for i in g) == list(range(7))
    logits, targets = packed_logits(model, examples, groups)
    packed = objective(logits, targets.target_tokens, targets.mask)
    assert (packed.per_example - unpacked.per_example).abs().max() <= 1e-5
    assert abs(float(packed.loss - unpacked.loss)) <= 1e-5


@torch.no_grad()
def test_no_attention_crosses_packed_examples() -> None:
    """Changing one partner's inputs leaves the other's logits untouched."""
    torch.manual_seed(1)
    model = UIOModel(TINY).eval()
    a, b = random_examples(2, seed=3)
    logits1, _ = packed_logits(model, [a, b], [[0, 1]])
    b.inputs.text_tokens = b.inputs.text_tokens.flip(-1) + 5
    b.target_ids = [7, 8, 9, 1]
    logits2, _ = packed_logits(model, [a, b], [[0, 1]])
    n = a.decoder_length
    assert (logits1[0, :n] - logits2[0, :n]).abs().max() <= 1e-5  # only rounding from other row widths
    assert not torch.allclose(logits1[1, :3], logits2[1, :3])


def test_pairing_follows_the_official_pool_rules() -> None:
    # limits 10/10: an example pairs with the longest pooled partner that fits both limits
    lengths = [(6, 6), (5, 5), (4, 4), (3, 3)]
    assert pair_examples(lengths, 10, 10) == [[0, 2], [1, 3]]
    # nothing fits and the pool is full: the incoming example, if longest, goes alone
    groups = pair_examples([(9, 1)] * 3 + [(10, 1)], 10, 10, pool_size=3)
    assert groups[0] == [3] and sorted(len(g) for g in groups) == [1, 1, 1, 1]
    # otherwise the longest pooled one leaves alone and the incoming one waits
    groups = pair_examples([(9, 1), (8, 1), (7, 1)], 10, 10, pool_size=2)
    assert groups[0] == [0]
