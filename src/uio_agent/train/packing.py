"""Dynamic packing as in the official trainer (``uio/packing.py``; reference §8.4).

``pair_examples`` pairs examples so that two short ones share one row: a pool of 10 waits for
partners; an incoming example is paired with the longest pooled one that fits with it under both
the encoder and the decoder limit. ``packed_logits`` runs a batch packed that way: each modality is
embedded per example first, the valid tokens of the two partners are moved side by side with segment
ids 1 and 2 (padding dropped), segment-equality masks keep them apart in encoder self-attention,
decoder self-attention and cross-attention, and the logits are unpacked back to one row per example.
Positions travel with the tokens (RoPE angles of each example's own stream), so a packed example sees
exactly what it would see alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from uio_agent.model.batch import TextTargets
from uio_agent.model.embedders import Sequence as TokenSequence
from uio_agent.model.uio import UIOModel
from uio_agent.train.examples import Example, collate

POOL_SIZE = 10


def pair_examples(
    lengths: Sequence[tuple[int, int]], max_encoder: int, max_decoder: int, pool_size: int = POOL_SIZE
) -> list[list[int]]:
    """Groups (one or two indices) from (encoder length, decoder length) pairs, in the official order.

    "Longest" compares encoder length first, then decoder length. Examples longer than a limit on
    their own are still emitted alone (the caller decides whether to truncate or drop them).
    """
    pool: list[int] = []
    groups: list[list[int]] = []

    def size(i: int) -> tuple[int, int]:
        return lengths[i]

    for index, (enc, dec) in enumerate(lengths):
        fits = [p for p in pool if lengths[p][0] + enc <= max_encoder and lengths[p][1] + dec <= max_decoder]
        if fits:
            partner = max(fits, key=size)
            pool.remove(partner)
            groups.append([partner, index])
        elif len(pool) < pool_size:
            pool.append(index)
        elif all(size(index) >= size(p) for p in pool):
            groups.append([index])
        else:
            longest = max(pool, key=size)
            pool.remove(longest)
            groups.append([longest])
            pool.append(index)
    groups.extend([p] for p in sorted(pool, key=size, reverse=True))
    return groups


def _pack_rows(parts: Sequence[Sequence[Tensor]], width: int, fill: Tensor) -> Tensor:
    """Concatenate each group's tensors along dim 0 and pad the rows to ``width``."""
    rows = []
    for group in parts:
        row = torch.cat(list(group), dim=0)
        pad = fill.expand(width - row.shape[0], *row.shape[1:])
        rows.append(torch.cat([row, pad.to(row.dtype)], dim=0))
    return torch.stack(rows)


def packed_logits(
    model: UIOModel,
    examples: Sequence[Example],
    groups: Sequence[Sequence[int]] | None = None,
    vocab: Tensor | None = None,
    *,
    max_encoder: int = 864,
    max_decoder: int = 1280,
) -> tuple[Tensor, TextTargets]:
    """Logits [N, L, V] (one row per example, as if unpacked) and the unpacked targets.

    Without ``groups``, examples are paired by :func:`pair_examples` under the two limits, using the
    encoder lengths of the embedding this call computes anyway (no second embedding pass)."""
    batch = collate(examples)
    seq = model.embed_inputs(batch.inputs)
    valid = seq.mask.bool()
    if groups is None:
        sizes = [(int(valid[i].sum()), e.decoder_length) for i, e in enumerate(examples)]
        groups = pair_examples(sizes, max_encoder, max_decoder)
    enc_width = max(sum(int(valid[i].sum()) for i in g) for g in groups)
    zero = torch.zeros((), dtype=seq.embed.dtype)
    embed = _pack_rows([[seq.embed[i][valid[i]] for i in g] for g in groups], enc_width, zero)
    angles = _pack_rows([[seq.angles[i][valid[i]] for i in g] for g in groups], enc_width, zero.float())
    enc_mask = _pack_rows([[seq.mask[i][valid[i]] for i in g] for g in groups], enc_width, torch.tensor(0))
    enc_segments = _pack_rows(
        [[torch.full((int(valid[i].sum()),), k + 1) for k, i in enumerate(g)] for g in groups],
        enc_width,
        torch.tensor(0),
    )
    encoded = model.encode_sequence(TokenSequence(embed, enc_mask.int(), angles, enc_segments))

    lengths = [e.decoder_length for e in examples]
    dec_width = max(sum(lengths[i] for i in g) for g in groups)
    tokens = _pack_rows(
        [[batch.targets.input_tokens[i, : lengths[i]] for i in g] for g in groups], dec_width, torch.tensor(0)
    )
    positions = _pack_rows(
        [[torch.arange(lengths[i]) for i in g] for g in groups], dec_width, torch.tensor(0)
    )
    dec_segments = _pack_rows(
        [[torch.full((lengths[i],), k + 1) for k, i in enumerate(g)] for g in groups],
        dec_width,
        torch.tensor(0),
    )
    dec_mask = (dec_segments > 0).int()
    hidden = model.decode(
        encoded, TextTargets(tokens, mask=dec_mask, pos_ids=positions), target_segment_ids=dec_segments
    )
    packed = model.text_logits(hidden, vocab)

    out = packed.new_zeros(len(examples), batch.targets.input_tokens.shape[1], packed.shape[-1])
    for row, group in enumerate(groups):
        start = 0
        for i in group:
            out[i, : lengths[i]] = packed[row, start : start + lengths[i]]
            start += lengths[i]
    return out, batch.targets


def packing_stats(
    examples: Sequence[Example], groups: Sequence[Sequence[int]], encoder_lengths: Sequence[int]
) -> dict[str, float]:
    """Non-padding fraction of the packed encoder and decoder rows (what the official code logs)."""
    enc_width = max(sum(encoder_lengths[i] for i in g) for g in groups)
    dec_width = max(sum(examples[i].decoder_length for i in g) for g in groups)
    enc_used = sum(encoder_lengths)
    dec_used = sum(e.decoder_length for e in examples)
    return {
        "rows": float(len(groups)),
        "encoder_fill": enc_used / (enc_width * len(groups)),
        "decoder_fill": dec_used / (dec_width * len(groups)),
    }
