"""``UIOModel``: the UIO-2 encoder-decoder with text, image and image-history inputs and text outputs.

Module and parameter names are the official port's, so ``state_dict()`` keys equal the allenai
checkpoint keys for every part built (see ``checkpoint.py`` for loading). Audio streams and
image/audio targets are not built yet; their config fields exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from uio_agent.model.batch import Batch, ModelInputs, TextTargets
from uio_agent.model.config import UIOConfig
from uio_agent.model.embedders import (
    ImageHistoryEmbedder,
    ImageInputEmbedder,
    Sequence,
    TextInputEmbedder,
    TextTargetEmbedder,
)
from uio_agent.model.layers import Rotary, mask_to_bias
from uio_agent.model.transformer import CrossKV, Decoder, Encoder, KVCache, pair_mask
from uio_agent.model.vit import VisionTransformer

if TYPE_CHECKING:
    from uio_agent.model.generate import GenerationResult


@dataclass
class Encoded:
    """Encoder output with what the decoder needs to attend to it."""

    hidden: Tensor
    mask: Tensor
    angles: Tensor

    def index_select(self, index: Tensor) -> Encoded:
        return Encoded(self.hidden[index], self.mask[index], self.angles[index])


class UIOModel(nn.Module):
    def __init__(self, config: UIOConfig) -> None:
        super().__init__()
        self.config = config
        self.text_token_embedder = nn.Embedding(config.vocab_size, config.emb_dim)
        embedders: dict[str, nn.Module] = {"text": TextInputEmbedder(config)}
        vit_owner: ImageInputEmbedder | None = None
        if "image" in config.input_modalities:
            vit_owner = ImageInputEmbedder(config)
            embedders["image"] = vit_owner
        if "image_history" in config.input_modalities:
            if vit_owner is None:
                raise ValueError(
                    "UIOConfig.input_modalities: 'image_history' needs 'image' (they share the ViT)"
                )
            embedders["image_history"] = ImageHistoryEmbedder(config, vit_owner.image_encoder)
        self.input_embedders = nn.ModuleDict(embedders)
        self.target_embedders = nn.ModuleDict({"text": TextTargetEmbedder(config)})
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        self.reset_parameters()

    @property
    def vision_transformer(self) -> VisionTransformer:
        """The ViT shared by the image and image-history streams."""
        embedder = self.input_embedders["image"]
        assert isinstance(embedder, ImageInputEmbedder)
        return embedder.image_encoder.vision_transformer

    # ------------------------------------------------------------------ initialisation
    @torch.no_grad()
    def reset_parameters(self) -> None:
        """From-scratch initialisation as the JAX model: N(0, 1) token embeddings, fan-in scaled linears."""
        if self.text_token_embedder.weight.is_meta:
            return
        nn.init.normal_(self.text_token_embedder.weight, std=1.0)
        for name, module in self.named_modules():
            if isinstance(module, nn.Linear) and "vision_transformer" not in name:
                nn.init.normal_(module.weight, std=module.in_features**-0.5)

    # ------------------------------------------------------------------ encoder
    def embed_inputs(self, inputs: ModelInputs) -> Sequence:
        """Validate and embed every input stream, concatenated (text, image, image history)."""
        inputs.validate(self.config)
        parts = [
            self.input_embedders["text"](
                inputs.text_tokens, inputs.text_mask, inputs.text_pos_ids, self.text_token_embedder
            )
        ]
        if inputs.image_patches is not None:
            parts.append(
                self.input_embedders["image"](inputs.image_patches, inputs.image_mask, inputs.image_pos_ids)
            )
        if inputs.image_history_patches is not None or inputs.image_history_features is not None:
            parts.append(
                self.input_embedders["image_history"](
                    inputs.image_history_patches,
                    inputs.image_history_mask,
                    inputs.image_history_pos_ids,
                    inputs.image_history_features,
                    inputs.image_history_frame_mask,
                )
            )
        return Sequence.concat(parts)

    def encode_sequence(self, seq: Sequence) -> Encoded:
        hidden = self.encoder(seq.embed, seq.mask, Rotary(seq.angles))
        return Encoded(hidden, seq.mask, seq.angles)

    def encode(self, inputs: ModelInputs) -> Encoded:
        return self.encode_sequence(self.embed_inputs(inputs))

    def embed_history_frames(
        self, patches: Tensor, mask: Tensor | None = None, pos_ids: Tensor | None = None
    ) -> Tensor:
        """Frames [N, P, patch_dim] -> [N, latents, d], to cache and pass as ``image_history_features``."""
        if mask is None:
            mask = torch.ones(patches.shape[:2], dtype=torch.int32, device=patches.device)
        if pos_ids is None:
            pos_ids = torch.arange(patches.shape[1], device=patches.device).expand(patches.shape[:2])
        embedder: ImageHistoryEmbedder = self.input_embedders["image_history"]  # type: ignore[assignment]
        return embedder.embed_frames(patches, mask, pos_ids)

    # ------------------------------------------------------------------ decoder
    def cross_keys_values(self, encoded: Encoded) -> CrossKV:
        return self.decoder.cross_keys_values(encoded.hidden, Rotary(encoded.angles))

    def embed_targets(self, tokens: Tensor, pos_ids: Tensor) -> tuple[Tensor, Rotary]:
        embed, angles = self.target_embedders["text"](tokens, pos_ids, self.text_token_embedder)
        return embed, Rotary(angles)

    def decode(self, encoded: Encoded, targets: TextTargets) -> Tensor:
        """Teacher-forced decoder hidden states [B, L, d] (after the final norm)."""
        targets.validate(self.config)
        tokens = targets.input_tokens
        b, length = tokens.shape
        mask = targets.mask if targets.mask is not None else torch.ones_like(tokens, dtype=torch.int32)
        pos_ids = (
            targets.pos_ids
            if targets.pos_ids is not None
            else torch.arange(length, device=tokens.device).expand(b, -1)
        )
        x, rotary = self.embed_targets(tokens, pos_ids)
        causal = torch.ones(length, length, dtype=torch.bool, device=tokens.device).tril()
        self_mask = pair_mask(mask, mask) & causal
        cross_mask = pair_mask(mask, encoded.mask)
        return self.decoder(
            x, rotary, mask_to_bias(self_mask), self.cross_keys_values(encoded), mask_to_bias(cross_mask)
        )

    def decode_step(
        self,
        tokens: Tensor,
        position: int,
        cross_kv: CrossKV,
        cross_bias: Tensor,
        cache: KVCache,
    ) -> Tensor:
        """One incremental step: ``tokens`` [B, 1] at ``position`` -> text logits [B, V] (fp32)."""
        positions = torch.full_like(tokens, position)
        x, rotary = self.embed_targets(tokens, positions)
        hidden = self.decoder(x, rotary, None, cross_kv, cross_bias, cache, position)
        return self.text_logits(hidden)[:, -1]

    def text_logits(self, hidden: Tensor, vocab: Tensor | None = None) -> Tensor:
        """Tied output head: ``hidden @ E_text^T / sqrt(d)`` in fp32.

        ``vocab`` (ids) restricts the head to those rows: with a tokenizer whose reserved ids can never
        occur, the softmax over the generable ids equals the full softmax with the others masked out,
        at a fraction of the cost (3,271 of 33,280 rows with the project tokenizer).
        """
        weight = self.text_token_embedder.weight
        if vocab is not None:
            weight = weight[vocab]
        return F.linear(hidden.float(), weight.float()) / math.sqrt(self.config.emb_dim)

    def forward(
        self, batch: Batch, vocab: Tensor | None = None, *, with_encoder: bool = False
    ) -> dict[str, Tensor]:
        """Teacher forcing: per-target-modality logits (``{"text": [B, L, V]}``; see ``text_logits``),
        and the encoder outputs [B, L_enc, d] as ``"encoder"`` when ``with_encoder`` (auxiliary losses)."""
        encoded = self.encode(batch.inputs)
        out = {"text": self.text_logits(self.decode(encoded, batch.targets), vocab)}
        if with_encoder:
            out["encoder"] = encoded.hidden
        return out

    # ------------------------------------------------------------------ conveniences
    @torch.no_grad()
    def generate(self, inputs: ModelInputs, **kwargs: Any) -> GenerationResult:
        """Decode text; see :func:`uio_agent.model.generate.generate` for the options."""
        from uio_agent.model.generate import generate

        return generate(self, inputs, **kwargs)

    @classmethod
    def from_official(cls, folder: str, **kwargs: Any) -> UIOModel:
        """Load an allenai checkpoint folder (``config.json`` + ``pytorch_model.bin``)."""
        from uio_agent.model.checkpoint import load_official

        return load_official(folder, **kwargs)

    def num_parameters(self, prefix: str = "") -> int:
        return sum(p.numel() for name, p in self.named_parameters() if name.startswith(prefix))
