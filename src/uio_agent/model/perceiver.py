"""Perceiver resampler: a fixed set of learned latents cross-attends to one frame's patch features.

Unlike Flamingo's resampler, keys and values come from the context only (latents are not appended),
there is no positional encoding inside, and every layer is a cross-attention layer. Names mirror the
official ``resampler.perceiver.*`` keys.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from uio_agent.model.config import ResamplerConfig
from uio_agent.model.layers import Attention, GeluMLP, RMSNorm, mask_to_bias


class CrossAttentionLayer(nn.Module):
    def __init__(self, config: ResamplerConfig) -> None:
        super().__init__()
        self.pre_xattention_norm = RMSNorm(config.emb_dim)
        self.xattention = Attention(
            config.emb_dim,
            config.num_heads,
            config.head_dim,
            qk_norm=not config.scaled_cosine,
            scaled_cosine=config.scaled_cosine,
        )
        self.pre_mlp_norm = RMSNorm(config.emb_dim)
        self.mlp = GeluMLP(config.emb_dim, config.mlp_dim)

    def forward(self, latents: Tensor, context: Tensor, bias: Tensor) -> Tensor:
        latents = latents + self.xattention(self.pre_xattention_norm(latents), context, bias)
        return latents + self.mlp(self.pre_mlp_norm(latents))


class PerceiverResampler(nn.Module):
    """Context [N, P, r] with patch mask [N, P] -> latents [N, L, r]."""

    def __init__(self, config: ResamplerConfig) -> None:
        super().__init__()
        self.config = config
        self.latents = nn.Parameter(torch.randn(config.latents_size, config.emb_dim) * config.emb_dim**-0.5)
        self.context_norm = RMSNorm(config.emb_dim)
        self.perceiver_norm = RMSNorm(config.emb_dim)
        for index in range(config.num_layers):
            self.add_module(f"layers_{index}", CrossAttentionLayer(config))

    def forward(self, context: Tensor, mask: Tensor) -> Tensor:
        n = context.shape[0]
        latents = self.latents.to(context.dtype).expand(n, -1, -1)
        context = self.context_norm(context)
        bias = mask_to_bias(mask[:, None, :].expand(-1, self.config.latents_size, -1))
        for index in range(self.config.num_layers):
            latents = getattr(self, f"layers_{index}")(latents, context, bias)
        return self.perceiver_norm(latents)


class Resampler(nn.Module):
    """Wrapper reproducing the official module path ``resampler.perceiver``."""

    def __init__(self, config: ResamplerConfig) -> None:
        super().__init__()
        self.perceiver = PerceiverResampler(config)

    def forward(self, context: Tensor, mask: Tensor) -> Tensor:
        return self.perceiver(context, mask)
