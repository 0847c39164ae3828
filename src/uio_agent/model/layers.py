"""Building blocks of the UIO-2 transformer: RMSNorm, interleaved RoPE, attention, MLPs.

Numerics follow the official model (``reference/uio2-architecture.md`` §3-4): RMSNorm in fp32,
QK-norm before RoPE, RoPE rotating interleaved (GPT-J style) pairs, attention logits and softmax in
fp32 with masked pairs set to -1e10 (not -inf: a fully masked row averages uniformly, as the
official model does, instead of producing NaN).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: additive bias of masked attention pairs in the official model
MASK_BIAS = -1e10

#: devices where :func:`dot_product_attention` writes the softmax product out instead of calling SDPA
EXPLICIT_ATTENTION_DEVICES: tuple[str, ...] = ("cpu",)


def dot_product_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    bias: Tensor | None = None,
    *,
    scale: float | None = None,
    is_causal: bool = False,
) -> Tensor:
    """``softmax(q k^T * scale + bias) v`` over [..., L, D] heads, as ``F.scaled_dot_product_attention``.

    On CPU the product is written out: at this project's CPU lengths (a few hundred tokens) SDPA's
    fused CPU kernels, its backward above all, make a training step 1.2x slower
    (``benchmarks/bench_attention.py``). Scores and softmax are in fp32 either way.
    """
    if q.device.type not in EXPLICIT_ATTENTION_DEVICES:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, is_causal=is_causal, scale=scale)
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    scores = (q @ k.transpose(-1, -2)).float() * scale
    if bias is not None:
        scores = scores + bias
    if is_causal:
        # top-left aligned, as SDPA's ``is_causal``
        future = torch.ones(scores.shape[-2:], dtype=torch.bool, device=q.device).triu(1)
        scores = scores.masked_fill(future, float("-inf"))
    return scores.softmax(-1).to(v.dtype) @ v


class RMSNorm(nn.Module):
    """T5-style layer norm: no mean subtraction, no bias; statistics in fp32."""

    def __init__(self, size: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        dtype = x.dtype
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.scale.to(dtype) * x32.to(dtype)


# ---------------------------------------------------------------------------- RoPE
def rope_angles_1d(positions: Tensor, head_dim: int, base: float = 10000.0) -> Tensor:
    """Angles [..., head_dim/2] for 1-D positions: ``p * base^(-2k/D)``."""
    theta = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32, device=positions.device) / head_dim)
    return positions.float()[..., None] * theta


def rope_angles_2d(rows: Tensor, cols: Tensor, head_dim: int, base: float = 10000.0) -> Tensor:
    """Angles [..., head_dim/2]: the first half of the pairs rotate with the row, the second with the column."""
    half = head_dim // 2
    theta = base ** (-torch.arange(0, half, 2, dtype=torch.float32, device=rows.device) / half)
    return torch.cat([rows.float()[..., None] * theta, cols.float()[..., None] * theta], dim=-1)


def grid_angles(rows: int, cols: int, head_dim: int, scale: float = 1.0, base: float = 10000.0) -> Tensor:
    """Angles for a row-major ``rows x cols`` grid with 0-based coordinates times ``scale``: [rows*cols, D/2]."""
    r = torch.arange(rows, dtype=torch.float32) * scale
    c = torch.arange(cols, dtype=torch.float32) * scale
    rr, cc = torch.meshgrid(r, c, indexing="ij")
    return rope_angles_2d(rr.reshape(-1), cc.reshape(-1), head_dim, base)


class Rotary:
    """cos/sin of RoPE angles for one sequence, shaped to broadcast over heads: [B, L, 1, D/2]."""

    def __init__(self, angles: Tensor) -> None:
        self.angles = angles
        self.cos = angles.cos()[:, :, None, :]
        self.sin = angles.sin()[:, :, None, :]

    def apply(self, x: Tensor) -> Tensor:
        """Rotate pairs (2k, 2k+1) of ``x`` [B, L, H, D] in fp32; returns ``x``'s dtype."""
        pairs = x.float().unflatten(-1, (-1, 2))
        even, odd = pairs[..., 0], pairs[..., 1]
        out = torch.stack((even * self.cos - odd * self.sin, odd * self.cos + even * self.sin), dim=-1)
        return out.flatten(-2).to(x.dtype)

    def select(self, index: Tensor) -> Rotary:
        return Rotary(self.angles[index])


# ---------------------------------------------------------------------------- attention
def mask_to_bias(mask: Tensor) -> Tensor:
    """0/1 (or bool) mask [B, Q, K] -> additive fp32 bias [B, 1, Q, K]."""
    return torch.zeros(mask.shape, dtype=torch.float32, device=mask.device).masked_fill_(
        ~mask.bool(), MASK_BIAS
    )[:, None]


@dataclass(frozen=True)
class _Bucket:
    """``blocks`` blocks of similar lengths as one padded batch: the packed positions of each block's
    query and key slots, flattened [blocks * L] (padding slots repeat the block's last token), and the
    additive bias of padding keys [blocks, 1, 1, Lk] (None where no key is padding)."""

    blocks: int
    queries: Tensor
    keys: Tensor
    key_bias: Tensor | None


class PackedAttention:
    """Attention over examples packed end to end in one row with no padding (``train/packing.py``):
    query block i (``query_lengths[i]`` tokens) attends to key block i only, causally for decoder
    self-attention, so no pair of tokens from different examples is ever scored.

    The blocks are gathered into a few padded batches of similar lengths (sorted by length; a new
    bucket starts where a block is under half the bucket's longest), one SDPA call each: a few large
    calls parallelise where one call per block does not, and the padding stays inside attention (the
    row itself has none). The indices are built once per batch and shared by every layer. (On GPUs a
    varlen kernel taking the lengths as ``cu_seqlens`` could replace the buckets.)
    """

    def __init__(
        self,
        query_lengths: Sequence[int],
        key_lengths: Sequence[int],
        causal: bool = False,
        device: torch.device | str = "cpu",
    ) -> None:
        if len(query_lengths) != len(key_lengths):
            raise ValueError(
                f"PackedAttention pairs query block i with key block i: got {len(query_lengths)} "
                f"query and {len(key_lengths)} key blocks"
            )
        if causal and list(query_lengths) != list(key_lengths):
            raise ValueError("causal PackedAttention needs query and key blocks of equal lengths")
        if min(query_lengths, default=0) < 1 or min(key_lengths, default=0) < 1:
            raise ValueError("every PackedAttention block needs at least one query and one key")
        self.causal = causal
        self.shape = (sum(query_lengths), sum(key_lengths))
        q_starts = [0, *itertools.accumulate(query_lengths)]
        k_starts = [0, *itertools.accumulate(key_lengths)]
        groups: list[list[int]] = []
        for i in sorted(range(len(query_lengths)), key=lambda i: query_lengths[i], reverse=True):
            group = groups[-1] if groups else []
            group_keys = [key_lengths[j] for j in (*group, i)]
            if (
                group
                and 2 * query_lengths[i] >= query_lengths[group[0]]
                and 2 * min(group_keys) >= max(group_keys)
            ):
                group.append(i)
            else:
                groups.append([i])
        device = torch.device(device)
        self.buckets = []
        #: packed query position -> its slot in the buckets' outputs, concatenated
        self.order = torch.empty(self.shape[0], dtype=torch.long, device=device)
        offset = 0
        for group in groups:
            queries, real_queries = self._slots([(q_starts[i], query_lengths[i]) for i in group], device)
            keys, real_keys = self._slots([(k_starts[i], key_lengths[i]) for i in group], device)
            key_bias = None
            if not causal and not bool(real_keys.all()):  # causally, real queries never see padding keys
                key_bias = mask_to_bias(real_keys[:, None, :])
            self.buckets.append(_Bucket(len(group), queries.flatten(), keys.flatten(), key_bias))
            real = real_queries.flatten()
            self.order[queries.flatten()[real]] = offset + real.nonzero().squeeze(1)
            offset += real.numel()

    @staticmethod
    def _slots(blocks: list[tuple[int, int]], device: torch.device) -> tuple[Tensor, Tensor]:
        """Packed positions [blocks, L] of (start, length) blocks padded to the longest, and which are real."""
        slots = torch.arange(max(n for _, n in blocks), device=device)
        starts = torch.tensor([s for s, _ in blocks], device=device)[:, None]
        lengths = torch.tensor([n for _, n in blocks], device=device)[:, None]
        return starts + torch.minimum(slots, lengths - 1), slots < lengths

    def attend(self, q: Tensor, k: Tensor, v: Tensor, scale: float) -> Tensor:
        """q [1, H, Q, D], k and v [1, H, K, D] of the packed row -> [1, H, Q, D]."""
        if q.shape[0] != 1 or (q.shape[2], k.shape[2]) != self.shape:
            raise ValueError(
                f"PackedAttention expects one row of {self.shape[0]} queries and {self.shape[1]} keys, "
                f"got queries {tuple(q.shape)} and keys {tuple(k.shape)}"
            )
        # token-major [L, H, D]: gathering whole tokens copies contiguous rows
        q_rows, k_rows, v_rows = (x[0].transpose(0, 1) for x in (q, k, v))
        outputs = []
        for b in self.buckets:
            qb, kb, vb = (
                rows.index_select(0, index).unflatten(0, (b.blocks, -1)).transpose(1, 2)
                for rows, index in ((q_rows, b.queries), (k_rows, b.keys), (v_rows, b.keys))
            )
            out = dot_product_attention(qb, kb, vb, b.key_bias, scale=scale, is_causal=self.causal)
            outputs.append(out.transpose(1, 2).flatten(0, 1))
        return torch.cat(outputs).index_select(0, self.order).transpose(0, 1)[None]


#: what attention is told: an additive fp32 bias [B|1, 1, Q, K], packed blocks, or nothing
AttentionMask = Tensor | PackedAttention | None


class Attention(nn.Module):
    """Multi-head attention of the main transformer and the resampler.

    ``qk_norm``: RMSNorm over each head with a [head_dim] scale shared by heads (main transformer,
    L/XL resampler). ``scaled_cosine``: cosine similarity times a clamped learned per-head
    temperature, no 1/sqrt(D) (XXL resampler).
    """

    def __init__(
        self,
        emb_dim: int,
        num_heads: int,
        head_dim: int,
        *,
        qk_norm: bool = True,
        scaled_cosine: bool = False,
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = head_dim
        inner = num_heads * head_dim
        self.query = nn.Linear(emb_dim, inner, bias=False)
        self.key = nn.Linear(emb_dim, inner, bias=False)
        self.value = nn.Linear(emb_dim, inner, bias=False)
        self.out = nn.Linear(inner, emb_dim, bias=False)
        self.qk_norm = qk_norm
        if qk_norm:
            self.query_norm = RMSNorm(head_dim)
            self.key_norm = RMSNorm(head_dim)
        self.scaled_cosine = scaled_cosine
        if scaled_cosine:
            self.logit_scale = nn.Parameter(torch.full((num_heads,), math.log(10.0)))

    def project_queries(self, x: Tensor, rotary: Rotary | None) -> Tensor:
        q = self.query(x).unflatten(-1, (self.num_heads, self.head_dim))
        if self.qk_norm:
            q = self.query_norm(q)
        return rotary.apply(q) if rotary is not None else q

    def project_keys_values(self, x: Tensor, rotary: Rotary | None) -> tuple[Tensor, Tensor]:
        """Keys and values [B, H, L, D], keys normalised and rotated: what a KV cache stores."""
        k = self.key(x).unflatten(-1, (self.num_heads, self.head_dim))
        v = self.value(x).unflatten(-1, (self.num_heads, self.head_dim))
        if self.qk_norm:
            k = self.key_norm(k)
        if rotary is not None:
            k = rotary.apply(k)
        return k.transpose(1, 2), v.transpose(1, 2)

    def attend(self, q: Tensor, k: Tensor, v: Tensor, mask: AttentionMask) -> Tensor:
        """q [B, Lq, H, D]; k, v [B, H, Lk, D]; ``mask`` an additive fp32 bias [B|1, 1, Lq, Lk] or the
        blocks of one packed row (B = 1). Returns [B, Lq, E]."""
        dtype = q.dtype
        q = q.transpose(1, 2).float()
        k = k.float()
        if self.scaled_cosine:
            temperature = self.logit_scale.float().clamp(max=math.log(100.0)).exp()
            q = F.normalize(q, dim=-1) * temperature[None, :, None, None]
            k = F.normalize(k, dim=-1)
            scale = 1.0
        else:
            scale = 1.0 / math.sqrt(self.head_dim)
        if isinstance(mask, PackedAttention):
            out = mask.attend(q, k, v.float(), scale)
        else:
            out = dot_product_attention(q, k, v.float(), mask, scale=scale)
        return self.out(out.transpose(1, 2).flatten(2).to(dtype))

    def forward(
        self,
        x_q: Tensor,
        x_kv: Tensor,
        mask: AttentionMask,
        rotary_q: Rotary | None = None,
        rotary_k: Rotary | None = None,
    ) -> Tensor:
        q = self.project_queries(x_q, rotary_q)
        k, v = self.project_keys_values(x_kv, rotary_k)
        return self.attend(q, k, v, mask)


class SwiGLU(nn.Module):
    """``wo(silu(wi_0 x) * wi_1 x)``, no biases: the main transformer's MLP."""

    def __init__(self, emb_dim: int, mlp_dim: int) -> None:
        super().__init__()
        self.wi_0 = nn.Linear(emb_dim, mlp_dim, bias=False)
        self.wi_1 = nn.Linear(emb_dim, mlp_dim, bias=False)
        self.wo = nn.Linear(mlp_dim, emb_dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.wo(F.silu(self.wi_0(x)) * self.wi_1(x))


class GeluMLP(nn.Module):
    """``wo(gelu(wi x))`` with exact erf GELU and no biases: the resampler's MLP (as the PyTorch port)."""

    def __init__(self, emb_dim: int, mlp_dim: int) -> None:
        super().__init__()
        self.wi = nn.Linear(emb_dim, mlp_dim, bias=False)
        self.wo = nn.Linear(mlp_dim, emb_dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.wo(F.gelu(self.wi(x)))
