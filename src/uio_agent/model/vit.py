"""CLIP-style ViT feature extractor shared by the image input and image-history encoders.

Parameter names mirror the official checkpoint (``image_encoder.vision_transformer.*``, separate
q/k/v in-projection tensors) so CLIP weights load by name. The learned position table is stored at
its pre-training grid (14x14 + class) and resized bicubically (antialiased, as ``jax.image.resize``
and the PyTorch port) to the patch grid in use; the resized table is cached until the weights change.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from uio_agent.model.config import ViTConfig
from uio_agent.model.layers import dot_product_attention, mask_to_bias


class ViTAttention(nn.Module):
    """Standard biased multi-head self-attention (no QK-norm, no RoPE)."""

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        d = config.emb_dim
        self.num_heads = config.num_heads
        self.head_dim = config.head_dim
        self.query_in_proj_weight = nn.Parameter(torch.empty(d, d))
        self.query_in_proj_bias = nn.Parameter(torch.zeros(d))
        self.key_in_proj_weight = nn.Parameter(torch.empty(d, d))
        self.key_in_proj_bias = nn.Parameter(torch.zeros(d))
        self.value_in_proj_weight = nn.Parameter(torch.empty(d, d))
        self.value_in_proj_bias = nn.Parameter(torch.zeros(d))
        self.out_proj = nn.Linear(d, d, bias=True)
        for weight in (self.query_in_proj_weight, self.key_in_proj_weight, self.value_in_proj_weight):
            nn.init.normal_(weight, std=d**-0.5)

    def forward(self, x: Tensor, bias: Tensor) -> Tensor:
        def heads(weight: Tensor, b: Tensor) -> Tensor:
            return F.linear(x, weight, b).unflatten(-1, (self.num_heads, self.head_dim)).transpose(1, 2)

        q = heads(self.query_in_proj_weight, self.query_in_proj_bias)
        k = heads(self.key_in_proj_weight, self.key_in_proj_bias)
        v = heads(self.value_in_proj_weight, self.value_in_proj_bias)
        out = dot_product_attention(q, k, v, bias.to(q.dtype))
        return self.out_proj(out.transpose(1, 2).flatten(2))


class ViTMLP(nn.Module):
    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.fc1 = nn.Linear(config.emb_dim, config.mlp_dim)
        self.fc2 = nn.Linear(config.mlp_dim, config.emb_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class ResidualAttentionBlock(nn.Module):
    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.emb_dim, eps=config.layer_norm_eps)
        self.attn = ViTAttention(config)
        self.ln_2 = nn.LayerNorm(config.emb_dim, eps=config.layer_norm_eps)
        self.mlp = ViTMLP(config)

    def forward(self, x: Tensor, bias: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x), bias)
        return x + self.mlp(self.ln_2(x))


class ViTBlocks(nn.Module):
    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.resblocks = nn.ModuleList(ResidualAttentionBlock(config) for _ in range(config.num_layers))


class VisionTransformer(nn.Module):
    """Patches [B, N, P*P*3] (+ mask, grid positions) -> (last-block, 2nd-block) features [B, N, W]."""

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.config = config
        d = config.emb_dim
        self.embedding = nn.Linear(config.patch_size * config.patch_size * 3, d, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(d) * d**-0.5)
        self.positional_embedding = nn.Parameter(torch.randn(config.num_pos, d) * 0.02)
        self.pre_ln = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.transformer = ViTBlocks(config)
        self._pos_cache: dict[tuple[int, int], tuple[tuple[int, str, torch.dtype], Tensor]] = {}

    def patch_position_table(self, grid: tuple[int, int]) -> Tensor:
        """The patch position table resized to ``grid`` (rows, cols): [rows*cols, W]."""
        table = self.positional_embedding
        key = (table._version, str(table.device), table.dtype)
        cached = self._pos_cache.get(grid)
        if cached is not None and cached[0] == key and not (torch.is_grad_enabled() and table.requires_grad):
            return cached[1]
        side = self.config.pos_grid
        patch_table = table[1:].reshape(side, side, -1)
        if (side, side) != grid:
            resized = F.interpolate(
                patch_table.permute(2, 0, 1)[None].float(),
                size=grid,
                mode="bicubic",
                align_corners=False,
                antialias=True,
            )
            patch_table = resized[0].permute(1, 2, 0).to(table.dtype)
        patch_table = patch_table.reshape(grid[0] * grid[1], -1)
        if not (torch.is_grad_enabled() and table.requires_grad):
            self._pos_cache[grid] = (key, patch_table)
        return patch_table

    def forward(
        self, patches: Tensor, mask: Tensor, pos_ids: Tensor, grid: tuple[int, int]
    ) -> tuple[Tensor, Tensor]:
        batch = patches.shape[0]
        x = self.embedding(patches.to(self.embedding.weight.dtype))
        cls = self.class_embedding.to(x.dtype).expand(batch, 1, -1)
        x = torch.cat([cls, x], dim=1)
        positions = self.patch_position_table(grid)[pos_ids.long()]
        cls_pos = self.positional_embedding[0].expand(batch, 1, -1)
        x = x + torch.cat([cls_pos, positions], dim=1).to(x.dtype)
        x = self.pre_ln(x)
        token_mask = torch.cat([mask.new_ones(batch, 1), mask], dim=1)
        bias = mask_to_bias(token_mask[:, :, None] * token_mask[:, None, :])
        second: Tensor | None = None
        for index, block in enumerate(self.transformer.resblocks):
            x = block(x, bias)
            if index == self.config.second_feature_layer:
                second = x
        assert second is not None
        return x[:, 1:], second[:, 1:]


class ImageEncoder(nn.Module):
    """Wrapper that reproduces the official module path ``image_encoder.vision_transformer``."""

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.vision_transformer = VisionTransformer(config)

    def forward(
        self, patches: Tensor, mask: Tensor, pos_ids: Tensor, grid: tuple[int, int]
    ) -> tuple[Tensor, Tensor]:
        return self.vision_transformer(patches, mask, pos_ids, grid)
