"""Dynamic packing: a batch runs as one row of its examples laid end to end, with no padding.

The official trainer (``uio/packing.py``; reference §8.4) pairs examples into rows of fixed width
(864 encoder, 1280 decoder tokens) because its attention is dense over a row: TPUs need static
shapes, and the masked pairs across partners are paid for. Here attention is told the examples'
lengths (:class:`~uio_agent.model.layers.PackedAttention`) and scores each example against itself
only, so there is no row width to fill and nothing to pair: every example of the batch goes into one
row, valid tokens only, after each modality is embedded per example (as the official code does), with
the positions travelling with the tokens (RoPE angles of each example's own streams). Encoder
self-attention, decoder self-attention (causal) and cross-attention stay within an example, so a
packed example sees exactly what it sees alone, while the norms, projections, MLPs, logits and loss
(everything but attention) run on valid tokens only.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

from uio_agent.model.batch import TextTargets
from uio_agent.model.layers import PackedAttention, Rotary
from uio_agent.model.uio import UIOModel
from uio_agent.train.examples import Example, collate


def packed_logits(
    model: UIOModel, examples: Sequence[Example], vocab: Tensor | None = None
) -> tuple[Tensor, TextTargets]:
    """Text logits [1, T, V] of every example's targets laid end to end (T = total target tokens), and
    the matching targets [1, T] (loss mask included), on the model's device.

    The objective over these equals the padded batch's (same tokens, same per-modality mean); use
    :func:`unpack` for per-example rows.
    """
    device = model.text_token_embedder.weight.device
    batch = collate(examples).to(device)
    batch.targets.validate(model.config)  # per-example limits: the packed row is longer by design
    seq = model.embed_inputs(batch.inputs)
    valid = seq.mask.bool()
    encoder_lengths = tuple(int(n) for n in valid.sum(1).tolist())
    if 0 in encoder_lengths:
        empty = examples[encoder_lengths.index(0)].source
        raise ValueError(f"example {empty} has no valid encoder token: nothing for its targets to attend to")
    encoder_rotary = Rotary(seq.angles[valid][None])
    encoder_hidden = model.encoder(
        seq.embed[valid][None],
        PackedAttention(encoder_lengths, encoder_lengths, device=device),
        encoder_rotary,
    )

    targets = batch.targets
    assert targets.target_tokens is not None and targets.mask is not None
    decoder_lengths = tuple(e.decoder_length for e in examples)
    width = targets.input_tokens.shape[1]
    positions = torch.arange(width, device=device).expand(len(examples), width)
    in_example = positions < torch.tensor(decoder_lengths, device=device)[:, None]
    packed_targets = TextTargets(
        targets.input_tokens[in_example][None],
        target_tokens=targets.target_tokens[in_example][None],
        mask=targets.mask[in_example][None],
        pos_ids=positions[in_example][None],
    )
    assert packed_targets.pos_ids is not None
    x, rotary = model.embed_targets(packed_targets.input_tokens, packed_targets.pos_ids)
    hidden = model.decoder(
        x,
        rotary,
        PackedAttention(decoder_lengths, decoder_lengths, causal=True, device=device),
        model.decoder.cross_keys_values(encoder_hidden, encoder_rotary),
        PackedAttention(decoder_lengths, encoder_lengths, device=device),
    )
    return model.text_logits(hidden, vocab), packed_targets


def unpack(packed: Tensor, lengths: Sequence[int]) -> Tensor:
    """A packed row [1, T, ...] back to one zero-padded row per example: [N, max(lengths), ...]."""
    if packed.shape[0] != 1 or packed.shape[1] != sum(lengths):
        raise ValueError(
            f"unpack expects one packed row of {sum(lengths)} tokens, got shape {tuple(packed.shape)}"
        )
    return pad_sequence(list(packed[0].split(list(lengths))), batch_first=True)
