"""Model-facing tensors: encoder inputs per stream and teacher-forcing text targets.

Every field is batch-first. Masks are 1 for valid and 0 for padding; when omitted they default to
the official ones (text: ``tokens != PAD``; patches: all valid). Position ids index the stream's
RoPE grid (text: token index; image: row-major patch index; history: patch index within a frame).
Validation raises ``ValueError`` naming the field and the limit, instead of failing deep in a matmul.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor

from uio_agent.model.config import UIOConfig

PAD_ID = 0
BOS_ID = 0
EOS_ID = 1


def _check_shape(name: str, tensor: Tensor, expected: tuple[int | None, ...]) -> None:
    if tensor.dim() != len(expected) or any(
        e is not None and s != e for s, e in zip(tensor.shape, expected, strict=True)
    ):
        shown = tuple("*" if e is None else e for e in expected)
        raise ValueError(f"{name} has shape {tuple(tensor.shape)}, expected {shown}")


def _check_ids(name: str, ids: Tensor, limit: int) -> None:
    if ids.dtype.is_floating_point or ids.dtype == torch.bool:
        raise ValueError(f"{name} must be an integer tensor, got {ids.dtype}")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= limit):
        raise ValueError(f"{name} has ids outside [0, {limit}): min {int(ids.min())}, max {int(ids.max())}")


@dataclass
class ModelInputs:
    """Encoder inputs. ``image_history_features`` (already embedded frames) replaces the history patches
    when a caller caches frame embeddings, e.g. a policy sliding a window over its history."""

    text_tokens: Tensor
    text_mask: Tensor | None = None
    text_pos_ids: Tensor | None = None
    image_patches: Tensor | None = None
    image_mask: Tensor | None = None
    image_pos_ids: Tensor | None = None
    image_history_patches: Tensor | None = None
    image_history_mask: Tensor | None = None
    image_history_pos_ids: Tensor | None = None
    image_history_features: Tensor | None = None
    image_history_frame_mask: Tensor | None = None

    @property
    def batch_size(self) -> int:
        return int(self.text_tokens.shape[0])

    def to(self, device: torch.device | str) -> ModelInputs:
        return dataclasses.replace(
            self,
            **{
                f.name: getattr(self, f.name).to(device)
                for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None
            },
        )

    @classmethod
    def collate(cls, items: list[ModelInputs]) -> ModelInputs:
        """Stack single examples into one batch: text padded with PAD, missing history frames masked out."""
        if not items:
            raise ValueError("collate needs at least one ModelInputs")
        batch = len(items)
        length = max(x.text_tokens.shape[1] for x in items)
        tokens = torch.zeros(batch, length, dtype=torch.long)
        text_mask = torch.zeros(batch, length, dtype=torch.int32)
        for row, x in enumerate(items):
            n = x.text_tokens.shape[1]
            tokens[row, :n] = x.text_tokens[0]
            text_mask[row, :n] = (
                x.text_mask[0] if x.text_mask is not None else (x.text_tokens[0] != PAD_ID).int()
            )
        out = cls(text_tokens=tokens, text_mask=text_mask)
        if any(x.image_patches is not None for x in items):
            image_patches: list[Tensor] = []
            for x in items:
                if x.image_patches is None:
                    raise ValueError("collate: either every example has an image input or none has")
                image_patches.append(x.image_patches)
            out.image_patches = torch.cat(image_patches)
            out.image_mask = torch.cat(
                [_ones_if_none(x.image_mask, p) for x, p in zip(items, image_patches, strict=True)]
            )
            out.image_pos_ids = torch.cat(
                [_arange_if_none(x.image_pos_ids, p) for x, p in zip(items, image_patches, strict=True)]
            )
        history = {
            row: x.image_history_patches for row, x in enumerate(items) if x.image_history_patches is not None
        }
        if history:
            frames = max(h.shape[1] for h in history.values())
            n, dim = next(iter(history.values())).shape[2:]
            patches = torch.zeros(batch, frames, n, dim)
            mask = torch.zeros(batch, frames, n, dtype=torch.int32)
            pos_ids = torch.zeros(batch, frames, n, dtype=torch.int32)
            for row, h in history.items():
                f = h.shape[1]
                patches[row, :f] = h[0]
                mask[row, :f] = _ones_if_none(items[row].image_history_mask, h)[0]
                pos_ids[row, :f] = _arange_if_none(items[row].image_history_pos_ids, h)[0]
            out.image_history_patches, out.image_history_mask, out.image_history_pos_ids = (
                patches,
                mask,
                pos_ids,
            )
        if any(x.image_history_features is not None for x in items):
            raise ValueError(
                "collate: stack cached image_history_features yourself (their frames are per policy)"
            )
        return out

    def validate(self, config: UIOConfig) -> None:
        """Check shapes, id ranges and limits against ``config``."""
        b = self.batch_size
        _check_shape("text_tokens", self.text_tokens, (b, None))
        length = self.text_tokens.shape[1]
        if length > config.encoder_max_text_length:
            raise ValueError(
                f"text_tokens has {length} tokens, over encoder_max_text_length={config.encoder_max_text_length}"
            )
        _check_ids("text_tokens", self.text_tokens, config.vocab_size)
        for name in ("text_mask", "text_pos_ids"):
            if getattr(self, name) is not None:
                _check_shape(name, getattr(self, name), (b, length))
        if self.text_pos_ids is not None:
            _check_ids("text_pos_ids", self.text_pos_ids, config.encoder_max_text_length)

        patch_dim = config.patch_dim
        if self.image_patches is not None:
            if "image" not in config.input_modalities:
                raise ValueError("image_patches given but 'image' is not in config.input_modalities")
            rows, cols = config.image_input_grid
            _check_shape("image_patches", self.image_patches, (b, None, patch_dim))
            n = self.image_patches.shape[1]
            if n > rows * cols:
                raise ValueError(
                    f"image_patches has {n} patches, over the {rows}x{cols} grid of image_input_size"
                )
            for name in ("image_mask", "image_pos_ids"):
                if getattr(self, name) is not None:
                    _check_shape(name, getattr(self, name), (b, n))
            if self.image_pos_ids is not None:
                _check_ids("image_pos_ids", self.image_pos_ids, rows * cols)

        max_frames = config.image_history.max_frames
        has_history = self.image_history_patches is not None or self.image_history_features is not None
        if has_history and "image_history" not in config.input_modalities:
            raise ValueError("image history given but 'image_history' is not in config.input_modalities")
        if self.image_history_patches is not None and self.image_history_features is not None:
            raise ValueError("give either image_history_patches or image_history_features, not both")
        if self.image_history_patches is not None:
            rows, cols = config.image_history_grid
            _check_shape("image_history_patches", self.image_history_patches, (b, None, None, patch_dim))
            frames, n = self.image_history_patches.shape[1:3]
            if frames > max_frames:
                raise ValueError(f"image_history_patches has {frames} frames, over max_frames={max_frames}")
            if n > rows * cols:
                raise ValueError(
                    f"image_history_patches has {n} patches per frame, over the {rows}x{cols} grid "
                    "of image_history_input_size"
                )
            for name in ("image_history_mask", "image_history_pos_ids"):
                if getattr(self, name) is not None:
                    _check_shape(name, getattr(self, name), (b, frames, n))
            if self.image_history_pos_ids is not None:
                _check_ids("image_history_pos_ids", self.image_history_pos_ids, rows * cols)
        if self.image_history_features is not None:
            latents = config.image_history.latents_size
            _check_shape(
                "image_history_features", self.image_history_features, (b, None, latents, config.emb_dim)
            )
            frames = self.image_history_features.shape[1]
            if frames > max_frames:
                raise ValueError(f"image_history_features has {frames} frames, over max_frames={max_frames}")
            if self.image_history_frame_mask is not None:
                _check_shape("image_history_frame_mask", self.image_history_frame_mask, (b, frames))


@dataclass
class TextTargets:
    """Decoder side of teacher forcing: inputs are the targets shifted right behind BOS."""

    input_tokens: Tensor
    target_tokens: Tensor | None = None
    mask: Tensor | None = None
    pos_ids: Tensor | None = None

    @classmethod
    def from_targets(cls, target_tokens: Tensor) -> TextTargets:
        """Build decoder inputs ``[BOS] + targets[:-1]``; the loss mask is ``targets > 0`` (official)."""
        inputs = torch.cat([torch.full_like(target_tokens[:, :1], BOS_ID), target_tokens[:, :-1]], dim=1)
        return cls(input_tokens=inputs, target_tokens=target_tokens, mask=(target_tokens > 0).to(torch.int32))

    def to(self, device: torch.device | str) -> TextTargets:
        return dataclasses.replace(
            self,
            **{
                f.name: getattr(self, f.name).to(device)
                for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None
            },
        )

    def validate(self, config: UIOConfig) -> None:
        b, length = self.input_tokens.shape
        if length > config.decoder_max_text_length:
            raise ValueError(
                f"text target has {length} tokens, over decoder_max_text_length={config.decoder_max_text_length}"
            )
        _check_ids("input_tokens", self.input_tokens, config.vocab_size)
        for name in ("target_tokens", "mask", "pos_ids"):
            if getattr(self, name) is not None:
                _check_shape(name, getattr(self, name), (b, length))
        if self.target_tokens is not None:
            _check_ids("target_tokens", self.target_tokens, config.vocab_size)
        if self.pos_ids is not None:
            _check_ids("pos_ids", self.pos_ids, config.decoder_max_text_length)


@dataclass
class Batch:
    """What ``UIOModel.forward`` consumes: encoder inputs and the text targets."""

    inputs: ModelInputs
    targets: TextTargets

    def to(self, device: torch.device | str) -> Batch:
        return Batch(self.inputs.to(device), self.targets.to(device))


def _ones_if_none(mask: Tensor | None, patches: Tensor) -> Tensor:
    return mask if mask is not None else torch.ones(patches.shape[:-1], dtype=torch.int32)


def _arange_if_none(pos_ids: Tensor | None, patches: Tensor) -> Tensor:
    if pos_ids is not None:
        return pos_ids
    return torch.arange(patches.shape[-2], dtype=torch.int32).expand(patches.shape[:-1]).contiguous()
