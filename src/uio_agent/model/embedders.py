"""Per-stream embedders: each turns one input (or target) stream into a :class:`Sequence`.

A sequence carries its embeddings (modality embedding included), validity mask and RoPE angles:
positions exist only through RoPE, so streams can be concatenated in any order. The official order
(text, image, image history) is kept for readability of intermediate tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from uio_agent.model.config import UIOConfig
from uio_agent.model.layers import grid_angles, rope_angles_1d
from uio_agent.model.perceiver import Resampler
from uio_agent.model.vit import ImageEncoder


@dataclass
class Sequence:
    """Embedded tokens [B, L, d], mask [B, L] (int), RoPE angles [B, L, head_dim/2]."""

    embed: Tensor
    mask: Tensor
    angles: Tensor

    @staticmethod
    def concat(parts: list[Sequence]) -> Sequence:
        return Sequence(
            embed=torch.cat([p.embed for p in parts], dim=1),
            mask=torch.cat([p.mask for p in parts], dim=1),
            angles=torch.cat([p.angles for p in parts], dim=1),
        )

    def index_select(self, index: Tensor) -> Sequence:
        """Rows ``index`` of the batch (e.g. to expand for beam search)."""
        return Sequence(self.embed[index], self.mask[index], self.angles[index])


class _AngleTables:
    """Lazily built RoPE angle tables (not buffers: a meta-device build stays loadable)."""

    def __init__(self) -> None:
        self._tables: dict[tuple[object, ...], Tensor] = {}

    def get(self, key: tuple[object, ...], device: torch.device, build: Callable[[], Tensor]) -> Tensor:
        full_key = (*key, str(device))
        table = self._tables.get(full_key)
        if table is None:
            table = build().to(device)
            self._tables[full_key] = table
        return table


class TextInputEmbedder(nn.Module):
    def __init__(self, config: UIOConfig) -> None:
        super().__init__()
        self.config = config
        self.modality_embedding = nn.Parameter(torch.randn(config.emb_dim) * 0.02)

    def forward(
        self, tokens: Tensor, mask: Tensor | None, pos_ids: Tensor | None, token_embedder: nn.Embedding
    ) -> Sequence:
        if mask is None:
            mask = (tokens != 0).to(torch.int32)
        if pos_ids is None:
            pos_ids = torch.arange(tokens.shape[1], device=tokens.device).expand_as(tokens)
        embed = token_embedder(tokens.long()) + self.modality_embedding
        angles = rope_angles_1d(pos_ids, self.config.head_dim, self.config.rope_base)
        return Sequence(embed, mask.to(torch.int32), angles)


class ImageInputEmbedder(nn.Module):
    """ViT (last, 2nd) features concatenated, projected to the model width."""

    def __init__(self, config: UIOConfig) -> None:
        super().__init__()
        self.config = config
        self.image_encoder = ImageEncoder(config.vit)
        self.projection = nn.Linear(2 * config.vit.emb_dim, config.emb_dim, bias=False)
        self.modality_embedding = nn.Parameter(torch.randn(config.emb_dim) * 0.02)
        self._angles = _AngleTables()

    def forward(self, patches: Tensor, mask: Tensor | None, pos_ids: Tensor | None) -> Sequence:
        b, n, _ = patches.shape
        if mask is None:
            mask = torch.ones(b, n, dtype=torch.int32, device=patches.device)
        if pos_ids is None:
            pos_ids = torch.arange(n, device=patches.device).expand(b, n)
        grid = self.config.image_input_grid
        last, second = self.image_encoder(patches, mask, pos_ids, grid)
        features = torch.cat([last, second], dim=-1)
        if self.config.freeze_vit:
            features = features.detach()
        embed = self.projection(features.to(self.projection.weight.dtype)) + self.modality_embedding
        table = self._angles.get(
            ("image", grid, self.config.image_rope_scale),
            patches.device,
            lambda: grid_angles(
                *grid, self.config.head_dim, self.config.image_rope_scale, self.config.rope_base
            ),
        )
        return Sequence(embed, mask.to(torch.int32), table[pos_ids.long()])


class ImageHistoryEmbedder(nn.Module):
    """Each history frame: ViT last-block features -> pre-projection -> perceiver -> post-projection.

    The ViT is the image input's (held by reference, not registered, as in the official model), so
    its weights exist once in the state dict.
    """

    vit: ImageEncoder

    def __init__(self, config: UIOConfig, vit: ImageEncoder) -> None:
        super().__init__()
        self.config = config
        self.__dict__["vit"] = vit  # shared, deliberately not a submodule
        res = config.image_history
        self.resampler = Resampler(res)
        self.pre_projection = nn.Linear(config.vit.emb_dim, res.emb_dim, bias=False)
        self.post_projection = nn.Linear(res.emb_dim, config.emb_dim, bias=False)
        self.modality_embedding = nn.Parameter(torch.randn(config.emb_dim) * 0.02)
        self._angles = _AngleTables()

    def embed_frames(self, patches: Tensor, mask: Tensor, pos_ids: Tensor) -> Tensor:
        """Frames [N, P, patch_dim] -> latents [N, L, d] after ``post_projection`` (no modality embedding).

        This is the cacheable part: a policy embeds each new frame once and reuses it.
        """
        last, _ = self.vit(patches, mask, pos_ids, self.config.image_history_grid)
        if self.config.freeze_vit:
            last = last.detach()
        features = self.pre_projection(last.to(self.pre_projection.weight.dtype))
        return self.post_projection(self.resampler(features, mask))

    def forward(
        self,
        patches: Tensor | None,
        mask: Tensor | None,
        pos_ids: Tensor | None,
        features: Tensor | None = None,
        frame_mask: Tensor | None = None,
    ) -> Sequence:
        cfg = self.config
        latents = cfg.image_history.latents_size
        if features is None:
            assert patches is not None
            b, frames, n, _ = patches.shape
            if mask is None:
                mask = torch.ones(b, frames, n, dtype=torch.int32, device=patches.device)
            if pos_ids is None:
                pos_ids = torch.arange(n, device=patches.device).expand(b, frames, n)
            frame_mask = (mask > 0).any(-1).to(torch.int32)
            flat_valid = frame_mask.reshape(-1).bool()
            # Only frames with a valid patch go through the ViT; the others stay masked out.
            if bool(flat_valid.any()):
                embedded = self.embed_frames(
                    patches.reshape(b * frames, n, -1)[flat_valid],
                    mask.reshape(b * frames, n)[flat_valid],
                    pos_ids.reshape(b * frames, n)[flat_valid],
                )
                features = embedded.new_zeros(b * frames, latents, cfg.emb_dim)
                features[flat_valid] = embedded
            else:
                features = patches.new_zeros(b * frames, latents, cfg.emb_dim)
            features = features.reshape(b, frames, latents, cfg.emb_dim)
        b, frames = features.shape[:2]
        if frame_mask is None:
            frame_mask = torch.ones(b, frames, dtype=torch.int32, device=features.device)
        embed = (features + self.modality_embedding).reshape(b, frames * latents, cfg.emb_dim)
        token_mask = frame_mask.to(torch.int32)[:, :, None].expand(b, frames, latents).reshape(b, -1)
        table = self._angles.get(
            ("history", cfg.image_history.max_frames, latents),
            features.device,
            lambda: grid_angles(cfg.image_history.max_frames, latents, cfg.head_dim, 1.0, cfg.rope_base),
        )
        angles = table[: frames * latents].expand(b, -1, -1)
        return Sequence(embed, token_mask, angles)


class TextTargetEmbedder(nn.Module):
    def __init__(self, config: UIOConfig) -> None:
        super().__init__()
        self.config = config
        self.modality_embedding = nn.Parameter(torch.randn(config.emb_dim) * 0.02)

    def forward(self, tokens: Tensor, pos_ids: Tensor, token_embedder: nn.Embedding) -> tuple[Tensor, Tensor]:
        """Embeddings [B, L, d] and RoPE angles [B, L, D/2] of decoder tokens at ``pos_ids``."""
        embed = token_embedder(tokens.long()) + self.modality_embedding
        return embed, rope_angles_1d(pos_ids, self.config.head_dim, self.config.rope_base)
