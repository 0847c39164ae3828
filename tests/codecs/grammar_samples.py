"""Sentences drawn through a codec grammar's ``allowed_tokens`` hook with random logits, as constrained
generation with an untrained model would produce them."""

from __future__ import annotations

import math

import torch

from uio_agent.codecs.grammar import TokenGrammar
from uio_agent.model.batch import EOS_ID


def sample_sentence(grammar: TokenGrammar, generator: torch.Generator) -> list[int]:
    """Token ids up to and including EOS, each the argmax of random logits under the grammar's mask."""
    hook = grammar.allowed_tokens()
    prefix: list[int] = []
    while not prefix or prefix[-1] != EOS_ID:
        mask = hook(torch.tensor([prefix], dtype=torch.long))[0]
        logits = torch.randn(mask.shape[0], generator=generator).masked_fill(~mask, -math.inf)
        prefix.append(int(logits.argmax()))
    return prefix
