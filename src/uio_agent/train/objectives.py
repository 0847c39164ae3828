"""The training objective: per-modality mean cross-entropy, summed, plus T5X's z-loss (reference §8.1).

Options beyond the official loss, both off by default:

* ``vocab``: compute the softmax over the ids that can occur (the generable ids of the tokenizer).
  Exact for the project tokenizer, whose reserved ids never occur, and ~10x cheaper.
* ``location_sigma``: soft targets on location tokens — a Gaussian over neighbouring bins instead of
  one-hot, so "off by one bin" is nearly right. Measured to be one of three ingredients that make a
  from-scratch policy learn VIMA placements in minutes on a CPU (issue 5's note).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from uio_agent.model.tokenizer import LOCATION_START

NUM_BINS = 1000


@dataclass
class LossOutput:
    loss: Tensor
    cross_entropy: Tensor
    z_loss: Tensor
    tokens: int
    #: mean cross-entropy of each example (row) over its valid tokens, for diagnostics and tests
    per_example: Tensor
    #: the prompt-grounding loss (train/grounding.py) when the trainer adds it, unweighted
    grounding: Tensor | None = None


class TextObjective:
    """Loss of text logits against target ids; ``vocab`` maps the logits' columns to token ids."""

    def __init__(
        self, vocab: Tensor | None = None, z_loss: float = 1e-4, location_sigma: float = 0.0
    ) -> None:
        self.vocab = vocab
        self.z_loss = z_loss
        self.location_sigma = location_sigma
        self._column_of: Tensor | None = None
        if vocab is not None:
            self._column_of = torch.full((int(vocab.max()) + 1,), -1, dtype=torch.long)
            self._column_of[vocab] = torch.arange(len(vocab))
        self._soft: Tensor | None = None
        if location_sigma > 0:
            bins = torch.arange(NUM_BINS, dtype=torch.float32)
            weights = torch.exp(-((bins[:, None] - bins[None, :]) ** 2) / (2 * location_sigma**2))
            self._soft = weights / weights.sum(-1, keepdim=True)  # [target bin, bin]

    def columns(self, target_ids: Tensor) -> Tensor:
        """Logit columns of ``target_ids`` (ids themselves when the head is the full vocabulary)."""
        if self._column_of is None:
            return target_ids
        cols = self._column_of.to(target_ids.device)[target_ids.clamp(max=len(self._column_of) - 1)]
        if bool(((cols < 0) & (target_ids > 0)).any()):
            raise ValueError("a target id is outside the training vocabulary (a reserved or unassigned id)")
        return cols.clamp(min=0)

    def __call__(self, logits: Tensor, target_ids: Tensor, mask: Tensor) -> LossOutput:
        """``logits`` [B, L, V] fp32, ``target_ids`` [B, L], ``mask`` [B, L] (1 = counts)."""
        weights = mask.float()
        tokens = weights.sum().clamp(min=1.0)
        log_probs = F.log_softmax(logits.float(), dim=-1)
        cols = self.columns(target_ids)
        nll = -log_probs.gather(-1, cols[..., None]).squeeze(-1)
        if self._soft is not None:
            nll = self._soft_location_nll(log_probs, target_ids, nll)
        nll = torch.where(weights > 0, nll, torch.zeros_like(nll))  # padding may sit on a masked (-inf) id
        per_example = (nll * weights).sum(-1) / weights.sum(-1).clamp(min=1.0)
        cross_entropy = (nll * weights).sum() / tokens
        log_z = torch.logsumexp(logits.float(), dim=-1)
        z_loss = self.z_loss * (log_z.pow(2) * weights).sum() / tokens
        return LossOutput(cross_entropy + z_loss, cross_entropy, z_loss, int(tokens.item()), per_example)

    def _soft_location_nll(self, log_probs: Tensor, target_ids: Tensor, hard: Tensor) -> Tensor:
        """Cross-entropy against a Gaussian over bins wherever the target is a location token."""
        assert self._soft is not None
        is_location = (target_ids >= LOCATION_START) & (target_ids < LOCATION_START + NUM_BINS)
        if not bool(is_location.any()):
            return hard
        location_ids = torch.arange(LOCATION_START, LOCATION_START + NUM_BINS, device=target_ids.device)
        location_cols = self.columns(location_ids)  # column of id 32000 + j
        # id 32000 + j is bin 999 - j
        bins = 999 - (target_ids[is_location] - LOCATION_START)
        soft = self._soft.to(log_probs.device)[bins]  # [n, bin]
        soft_by_id = soft.flip(-1)  # column j <-> id 32000 + j <-> bin 999 - j
        selected = log_probs[is_location][:, location_cols]
        out = hard.clone()
        out[is_location] = -(soft_by_id * selected).sum(-1)
        return out
