"""Text generation: greedy, top-p sampling and beam search over a static KV cache.

The encoder runs once; cross-attention keys/values are computed once per sequence; each step
embeds one token and reuses the preallocated self-attention cache. Constrained decoding plugs in
through ``allowed_tokens``: a callable that receives the tokens generated so far (``[N, t]``, no
BOS) and returns a boolean mask ``[N, V]`` of tokens allowed next — a grammar's state machine can
replay the prefix or keep its own state. ``banned_tokens`` (a ``[V]`` mask) removes ids that must
never appear, such as the reserved ids of a tokenizer with fewer than 32000 base pieces.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from uio_agent.model.batch import BOS_ID, EOS_ID, PAD_ID, ModelInputs
from uio_agent.model.layers import mask_to_bias
from uio_agent.model.transformer import KVCache
from uio_agent.model.uio import Encoded, UIOModel

AllowedTokens = Callable[[Tensor], Tensor]
METHODS = ("greedy", "sample", "beam")


@dataclass
class GenerationResult:
    """``tokens`` [B, T]: generated ids without BOS, EOS kept, PAD (0) after it.
    ``scores`` [B]: summed log-probabilities of the kept tokens. ``step_logits`` [B, T, V] (greedy and
    sampling, when asked): the raw logits of every step, before any masking."""

    tokens: Tensor
    scores: Tensor
    step_logits: Tensor | None = None


def _mask_logits(
    logits: Tensor,
    prefix: Tensor,
    finished: Tensor,
    allowed_tokens: AllowedTokens | None,
    banned_tokens: Tensor | None,
) -> Tensor:
    if banned_tokens is not None:
        logits = logits.masked_fill(banned_tokens.to(logits.device), float("-inf"))
    if allowed_tokens is not None:
        allowed = allowed_tokens(prefix).to(logits.device)
        if allowed.shape != logits.shape:
            raise ValueError(
                f"allowed_tokens returned shape {tuple(allowed.shape)}, expected {tuple(logits.shape)}"
            )
        allowed = allowed | finished[:, None]  # a finished sequence only pads; its grammar is done
        if not bool(allowed.any(-1).all()):
            raise ValueError("allowed_tokens allowed no token at all for some sequence; the grammar is stuck")
        logits = logits.masked_fill(~allowed, float("-inf"))
    return logits


def _top_p_sample(
    logits: Tensor, top_p: float, temperature: float, generator: torch.Generator | None
) -> Tensor:
    probs = torch.softmax(logits / max(temperature, 1e-6), dim=-1)
    if top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        # keep the smallest prefix whose mass reaches top_p (always at least the most likely token)
        drop = sorted_probs.cumsum(-1) - sorted_probs >= top_p
        sorted_probs = sorted_probs.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter_(-1, order, sorted_probs)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


class _Decoder:
    """Step-by-step decoding state over one encoded batch (rows may be expanded for beams)."""

    def __init__(self, model: UIOModel, encoded: Encoded, max_new_tokens: int) -> None:
        self.model = model
        self.cross_kv = model.cross_keys_values(encoded)
        self.cross_bias = mask_to_bias(encoded.mask[:, None, :].bool())
        rows = encoded.hidden.shape[0]
        self.cache = KVCache.allocate(
            model.config, rows, max_new_tokens, encoded.hidden.dtype, encoded.hidden.device
        )

    def step(self, tokens: Tensor, position: int) -> Tensor:
        return self.model.decode_step(tokens[:, None], position, self.cross_kv, self.cross_bias, self.cache)

    def reorder(self, index: Tensor) -> None:
        self.cache.reorder(index)
        self.cross_kv = [None if kv is None else (kv[0][index], kv[1][index]) for kv in self.cross_kv]
        self.cross_bias = self.cross_bias[index]


@torch.no_grad()
def generate(
    model: UIOModel,
    inputs: ModelInputs,
    *,
    max_new_tokens: int = 64,
    method: str = "greedy",
    temperature: float = 1.0,
    top_p: float = 1.0,
    num_beams: int = 4,
    length_penalty: float = 1.0,
    allowed_tokens: AllowedTokens | None = None,
    banned_tokens: Tensor | None = None,
    generator: torch.Generator | None = None,
    return_step_logits: bool = False,
    encoded: Encoded | None = None,
) -> GenerationResult:
    """Generate text for every row of ``inputs`` (or of an already ``encoded`` batch)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    limit = model.config.decoder_max_text_length
    if not 1 <= max_new_tokens <= limit:
        raise ValueError(
            f"max_new_tokens must be in [1, decoder_max_text_length={limit}], got {max_new_tokens}"
        )
    if method == "sample" and not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    if method == "beam" and num_beams < 1:
        raise ValueError(f"num_beams must be >= 1, got {num_beams}")
    if encoded is None:
        encoded = model.encode(inputs)
    if method == "beam":
        return _beam_search(
            model, encoded, max_new_tokens, num_beams, length_penalty, allowed_tokens, banned_tokens
        )

    batch = encoded.hidden.shape[0]
    device = encoded.hidden.device
    decoder = _Decoder(model, encoded, max_new_tokens)
    tokens = torch.full((batch, max_new_tokens), PAD_ID, dtype=torch.long, device=device)
    scores = torch.zeros(batch, device=device)
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    all_logits = []
    current = torch.full((batch,), BOS_ID, dtype=torch.long, device=device)
    steps = 0
    for position in range(max_new_tokens):
        raw = decoder.step(current, position)
        if return_step_logits:
            all_logits.append(raw)
        logits = _mask_logits(raw, tokens[:, :position], finished, allowed_tokens, banned_tokens)
        if method == "greedy":
            chosen = logits.argmax(-1)
        else:
            chosen = _top_p_sample(logits, top_p, temperature, generator)
        logprob = torch.log_softmax(logits, -1).gather(-1, chosen[:, None]).squeeze(-1)
        chosen = torch.where(finished, torch.full_like(chosen, PAD_ID), chosen)
        scores = scores + torch.where(finished, torch.zeros_like(logprob), logprob)
        tokens[:, position] = chosen
        finished = finished | (chosen == EOS_ID)
        current = chosen
        steps = position + 1
        if bool(finished.all()):
            break
    step_logits = torch.stack(all_logits, dim=1) if return_step_logits else None
    return GenerationResult(tokens[:, :steps], scores, step_logits)


def _beam_search(
    model: UIOModel,
    encoded: Encoded,
    max_new_tokens: int,
    num_beams: int,
    length_penalty: float,
    allowed_tokens: AllowedTokens | None,
    banned_tokens: Tensor | None,
) -> GenerationResult:
    """Beam search; finished beams keep their score and compete on ``score / length**length_penalty``."""
    batch = encoded.hidden.shape[0]
    k = num_beams
    device = encoded.hidden.device
    rows = torch.arange(batch, device=device).repeat_interleave(k)
    decoder = _Decoder(model, encoded.index_select(rows), max_new_tokens)
    sequences = torch.full((batch * k, max_new_tokens), PAD_ID, dtype=torch.long, device=device)
    beam_scores = torch.full((batch, k), float("-inf"), device=device)
    beam_scores[:, 0] = 0.0  # all beams start identical: expand only the first
    finished = torch.zeros(batch * k, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch * k, device=device)
    current = torch.full((batch * k,), BOS_ID, dtype=torch.long, device=device)
    steps = 0
    for position in range(max_new_tokens):
        # beams with no probability left (the unused copies at the start, or beams that could only be
        # filled with impossible tokens) are skipped by the grammar check like finished ones
        dead = finished | torch.isinf(beam_scores.reshape(-1))
        logits = _mask_logits(
            decoder.step(current, position), sequences[:, :position], dead, allowed_tokens, banned_tokens
        )
        logprobs = torch.log_softmax(logits, -1)
        vocab = logprobs.shape[-1]
        # a finished beam may only continue with PAD, at no cost
        pad_only = torch.full_like(logprobs[0], float("-inf"))
        pad_only[PAD_ID] = 0.0
        logprobs = torch.where(finished[:, None], pad_only, logprobs)
        candidates = (beam_scores.reshape(-1, 1) + logprobs).reshape(batch, k * vocab)
        top_scores, top_index = candidates.topk(k, dim=-1)
        parent = (top_index // vocab) + torch.arange(batch, device=device)[:, None] * k
        chosen = (top_index % vocab).reshape(-1)
        parent = parent.reshape(-1)
        decoder.reorder(parent)
        sequences = sequences[parent]
        finished = finished[parent]
        lengths = lengths[parent] + (~finished).float()
        sequences[:, position] = torch.where(finished, torch.full_like(chosen, PAD_ID), chosen)
        finished = finished | (chosen == EOS_ID)
        beam_scores = top_scores
        current = sequences[:, position]
        steps = position + 1
        if bool(finished.all()):
            break
    normalised = beam_scores / lengths.reshape(batch, k).clamp(min=1.0) ** length_penalty
    best = normalised.argmax(-1) + torch.arange(batch, device=device) * k
    return GenerationResult(sequences[best, :steps], beam_scores.reshape(-1)[best])
