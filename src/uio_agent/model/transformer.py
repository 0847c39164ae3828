"""The encoder and decoder stacks, masks, and the static key/value cache used for decoding.

Decoding follows gpt-fast's pattern: a preallocated self-attention cache written in place at the
current step, and cross-attention keys/values computed once per sequence from the encoder output
(the official port recomputes them in every layer at every step, which dominates its decode time).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from uio_agent.model.config import UIOConfig
from uio_agent.model.layers import (
    Attention,
    AttentionMask,
    PackedAttention,
    RMSNorm,
    Rotary,
    SwiGLU,
    mask_to_bias,
)


def pair_mask(q_mask: Tensor, k_mask: Tensor) -> Tensor:
    """[B, Q, K] mask: both tokens valid."""
    return q_mask[:, :, None].bool() & k_mask[:, None, :].bool()


class EncoderLayer(nn.Module):
    def __init__(self, config: UIOConfig) -> None:
        super().__init__()
        self.pre_attention_norm = RMSNorm(config.emb_dim)
        self.attention = Attention(config.emb_dim, config.num_heads, config.head_dim)
        self.pre_mlp_norm = RMSNorm(config.emb_dim)
        self.mlp = SwiGLU(config.emb_dim, config.mlp_dim)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(self, x: Tensor, mask: AttentionMask, rotary: Rotary) -> Tensor:
        h = self.pre_attention_norm(x)
        x = x + self.dropout(self.attention(h, h, mask, rotary, rotary))
        return x + self.dropout(self.mlp(self.pre_mlp_norm(x)))


class Encoder(nn.Module):
    def __init__(self, config: UIOConfig) -> None:
        super().__init__()
        self.config = config
        for index in range(config.num_encoder_layers):
            self.add_module(f"layers_{index}", EncoderLayer(config))
        self.encoder_norm = RMSNorm(config.emb_dim)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(self, x: Tensor, mask: Tensor | PackedAttention, rotary: Rotary) -> Tensor:
        """``mask``: token validity [B, L] (padded batch), or the blocks of one packed row."""
        attention = mask if isinstance(mask, PackedAttention) else mask_to_bias(pair_mask(mask, mask))
        x = self.dropout(x)
        for index in range(self.config.num_encoder_layers):
            x = getattr(self, f"layers_{index}")(x, attention, rotary)
        return self.dropout(self.encoder_norm(x))


@dataclass
class KVCache:
    """Preallocated decoder self-attention keys/values: per layer [B, H, max_len, D]."""

    keys: list[Tensor]
    values: list[Tensor]

    @classmethod
    def allocate(
        cls, config: UIOConfig, batch: int, max_len: int, dtype: torch.dtype, device: torch.device
    ) -> KVCache:
        shape = (batch, config.num_heads, max_len, config.head_dim)
        return cls(
            keys=[torch.zeros(shape, dtype=dtype, device=device) for _ in range(config.num_decoder_layers)],
            values=[torch.zeros(shape, dtype=dtype, device=device) for _ in range(config.num_decoder_layers)],
        )

    def reorder(self, index: Tensor) -> None:
        """Keep batch rows ``index`` (beam search: each beam continues from its parent's cache)."""
        self.keys = [k.index_select(0, index) for k in self.keys]
        self.values = [v.index_select(0, index) for v in self.values]


#: cross-attention keys/values per decoder layer (None for layers without cross-attention)
CrossKV = list[tuple[Tensor, Tensor] | None]


class DecoderLayer(nn.Module):
    def __init__(self, config: UIOConfig, cross_attention: bool) -> None:
        super().__init__()
        self.pre_self_attention_norm = RMSNorm(config.emb_dim)
        self.self_attention = Attention(config.emb_dim, config.num_heads, config.head_dim)
        self.cross_attention = cross_attention
        if cross_attention:
            self.pre_cross_attention_norm = RMSNorm(config.emb_dim)
            self.encoder_decoder_attention = Attention(config.emb_dim, config.num_heads, config.head_dim)
        self.pre_mlp_norm = RMSNorm(config.emb_dim)
        self.mlp = SwiGLU(config.emb_dim, config.mlp_dim)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(
        self,
        x: Tensor,
        rotary: Rotary,
        self_mask: AttentionMask,
        cross_kv: tuple[Tensor, Tensor] | None,
        cross_mask: AttentionMask,
        cache: tuple[Tensor, Tensor] | None = None,
        start: int = 0,
    ) -> Tensor:
        h = self.pre_self_attention_norm(x)
        attn = self.self_attention
        q = attn.project_queries(h, rotary)
        k, v = attn.project_keys_values(h, rotary)
        if cache is not None:
            cache_k, cache_v = cache
            end = start + x.shape[1]
            cache_k[:, :, start:end] = k
            cache_v[:, :, start:end] = v
            k, v = cache_k[:, :, :end], cache_v[:, :, :end]
        x = x + self.dropout(attn.attend(q, k, v, self_mask))
        if self.cross_attention:
            assert cross_kv is not None
            h = self.pre_cross_attention_norm(x)
            xattn = self.encoder_decoder_attention
            q = xattn.project_queries(h, rotary)
            x = x + self.dropout(xattn.attend(q, cross_kv[0], cross_kv[1], cross_mask))
        return x + self.dropout(self.mlp(self.pre_mlp_norm(x)))


class Decoder(nn.Module):
    def __init__(self, config: UIOConfig) -> None:
        super().__init__()
        self.config = config
        for index in range(config.num_decoder_layers):
            self.add_module(f"layers_{index}", DecoderLayer(config, config.has_cross_attention(index)))
        self.decoder_norm = RMSNorm(config.emb_dim)
        self.dropout = nn.Dropout(config.dropout_rate)

    def layer(self, index: int) -> DecoderLayer:
        layer: DecoderLayer = getattr(self, f"layers_{index}")
        return layer

    def cross_keys_values(self, encoded: Tensor, encoder_rotary: Rotary) -> CrossKV:
        """Cross-attention K/V of every layer, computed once per encoded sequence."""
        kv: CrossKV = []
        for index in range(self.config.num_decoder_layers):
            layer = self.layer(index)
            kv.append(
                layer.encoder_decoder_attention.project_keys_values(encoded, encoder_rotary)
                if layer.cross_attention
                else None
            )
        return kv

    def forward(
        self,
        x: Tensor,
        rotary: Rotary,
        self_mask: AttentionMask,
        cross_kv: CrossKV,
        cross_mask: AttentionMask,
        cache: KVCache | None = None,
        start: int = 0,
    ) -> Tensor:
        x = self.dropout(x)
        for index in range(self.config.num_decoder_layers):
            layer_cache = (cache.keys[index], cache.values[index]) if cache is not None else None
            x = self.layer(index)(x, rotary, self_mask, cross_kv[index], cross_mask, layer_cache, start)
        return self.dropout(self.decoder_norm(x))
