"""Typed configuration of the UIO-2 network, with presets and the official ``config.json`` reader.

Field names follow the official port (``uio2/config.py``) where one exists, so a reader of both can
map them by eye. Every encoder size and input resolution is a field: the official presets use
384-px image inputs and 256-px history frames; ``tiny`` and ``small`` shrink both for CPU work.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Modalities this implementation builds. Audio streams and image/audio targets keep their config
#: fields (so official configs round-trip) but are not built yet.
SUPPORTED_INPUTS = ("text", "image", "image_history")
SUPPORTED_TARGETS = ("text",)


@dataclass
class ViTConfig:
    """CLIP-style ViT feature extractor (official: ViT-B/16 truncated to 11 blocks)."""

    emb_dim: int = 768
    num_heads: int = 12
    head_dim: int = 64
    mlp_dim: int = 3072
    num_layers: int = 11
    patch_size: int = 16
    #: rows of the learned position table: 1 class position + a square grid (14x14 for CLIP at 224 px)
    num_pos: int = 197
    #: index of the block whose output is the second feature ("2nd layer"); the first is the last block
    second_feature_layer: int = 1
    layer_norm_eps: float = 1e-5

    @property
    def pos_grid(self) -> int:
        side = math.isqrt(self.num_pos - 1)
        if side * side != self.num_pos - 1:
            raise ValueError(f"ViTConfig.num_pos must be 1 + a square grid, got {self.num_pos}")
        return side


@dataclass
class ResamplerConfig:
    """Perceiver resampler that turns one history frame's patch features into a few latents."""

    emb_dim: int = 768
    num_heads: int = 12
    head_dim: int = 64
    mlp_dim: int = 2048
    num_layers: int = 2
    latents_size: int = 32
    max_frames: int = 8
    #: XXL uses scaled cosine attention with a learned per-head temperature; L/XL use QK-norm.
    scaled_cosine: bool = False


@dataclass
class UIOConfig:
    """The encoder-decoder transformer, its input encoders and its input geometry."""

    emb_dim: int = 1024
    num_heads: int = 16
    head_dim: int = 64
    mlp_dim: int = 2816
    num_encoder_layers: int = 24
    num_decoder_layers: int = 24
    #: every ``decoder_xattention_interval``-th decoder layer (and the last) attends to the encoder
    decoder_xattention_interval: int = 1
    dropout_rate: float = 0.0
    rope_base: float = 10000.0

    vocab_size: int = 33280
    image_vocab_size: int = 16512
    audio_vocab_size: int = 8320

    encoder_max_text_length: int = 512
    decoder_max_text_length: int = 512

    #: (height, width) of the image input and of each image-history frame, in pixels
    image_input_size: tuple[int, int] = (384, 384)
    image_history_input_size: tuple[int, int] = (256, 256)
    #: 2-D RoPE coordinate scale of image/audio inputs: sqrt(1024/576) aligns the 24x24 input grid
    #: with the 32x32 image-target grid in the official model
    image_rope_scale: float = 4.0 / 3.0
    audio_input_size: tuple[int, int] = (256, 128)
    audio_history_input_size: tuple[int, int] = (256, 128)

    vit: ViTConfig = field(default_factory=ViTConfig)
    image_history: ResamplerConfig = field(default_factory=ResamplerConfig)
    audio_history: ResamplerConfig = field(default_factory=lambda: ResamplerConfig(latents_size=16))

    input_modalities: tuple[str, ...] = ("text", "image", "image_history")
    target_modalities: tuple[str, ...] = ("text",)
    #: stop gradients into the ViT (official: the CLIP ViT is frozen)
    freeze_vit: bool = True

    def __post_init__(self) -> None:
        self.image_input_size = tuple(self.image_input_size)  # type: ignore[assignment]
        self.image_history_input_size = tuple(self.image_history_input_size)  # type: ignore[assignment]
        self.audio_input_size = tuple(self.audio_input_size)  # type: ignore[assignment]
        self.audio_history_input_size = tuple(self.audio_history_input_size)  # type: ignore[assignment]
        self.input_modalities = tuple(self.input_modalities)
        self.target_modalities = tuple(self.target_modalities)
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise ``ValueError`` naming the field for any inconsistent value."""
        if self.emb_dim != self.num_heads * self.head_dim:
            raise ValueError(
                f"UIOConfig.emb_dim ({self.emb_dim}) must equal num_heads*head_dim "
                f"({self.num_heads}*{self.head_dim})"
            )
        if self.head_dim % 4:
            raise ValueError(f"UIOConfig.head_dim must be a multiple of 4 for 2-D RoPE, got {self.head_dim}")
        for name in ("vit", "image_history", "audio_history"):
            sub = getattr(self, name)
            if sub.emb_dim != sub.num_heads * sub.head_dim:
                raise ValueError(f"UIOConfig.{name}.emb_dim must equal num_heads*head_dim")
        if not 0 <= self.vit.second_feature_layer < self.vit.num_layers:
            raise ValueError(
                f"UIOConfig.vit.second_feature_layer must be in [0, {self.vit.num_layers}), "
                f"got {self.vit.second_feature_layer}"
            )
        for name in ("image_input_size", "image_history_input_size"):
            h, w = getattr(self, name)
            if h % self.vit.patch_size or w % self.vit.patch_size:
                raise ValueError(f"UIOConfig.{name} {h}x{w} must be divisible by vit.patch_size")
        unknown_in = set(self.input_modalities) - set(SUPPORTED_INPUTS)
        if unknown_in:
            raise ValueError(
                f"UIOConfig.input_modalities: {sorted(unknown_in)} not built yet; supported: {SUPPORTED_INPUTS}"
            )
        if "text" not in self.input_modalities:
            raise ValueError("UIOConfig.input_modalities must include 'text'")
        unknown_out = set(self.target_modalities) - set(SUPPORTED_TARGETS)
        if unknown_out or not self.target_modalities:
            raise ValueError(
                f"UIOConfig.target_modalities: {list(self.target_modalities)}; supported: {SUPPORTED_TARGETS}"
            )
        if self.decoder_xattention_interval < 1:
            raise ValueError("UIOConfig.decoder_xattention_interval must be >= 1")

    # ------------------------------------------------------------------ geometry
    @property
    def image_input_grid(self) -> tuple[int, int]:
        h, w = self.image_input_size
        return h // self.vit.patch_size, w // self.vit.patch_size

    @property
    def image_history_grid(self) -> tuple[int, int]:
        h, w = self.image_history_input_size
        return h // self.vit.patch_size, w // self.vit.patch_size

    @property
    def patch_dim(self) -> int:
        return self.vit.patch_size * self.vit.patch_size * 3

    def has_cross_attention(self, layer: int) -> bool:
        n = self.num_decoder_layers
        return layer % self.decoder_xattention_interval == 0 or layer == n - 1

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UIOConfig:
        """Inverse of :meth:`to_dict` (our ``config.json``); unknown keys are an error."""
        data = dict(data)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown UIOConfig fields {sorted(unknown)}; known: {sorted(known)}")
        subs = {"vit": ViTConfig, "image_history": ResamplerConfig, "audio_history": ResamplerConfig}
        for key, sub_cls in subs.items():
            if key in data and isinstance(data[key], dict):
                data[key] = sub_cls(**data[key])
        return cls(**data)

    @classmethod
    def from_official(cls, data: dict[str, Any]) -> UIOConfig:
        """Read the official port's ``config.json`` (``Config.to_dict()``; allenai checkpoints, fixtures)."""
        try:
            t5 = data["t5_config"]
            vit = data["image_vit_cfg"]
            hist = data["image_history_cfg"]
        except KeyError as err:
            raise ValueError(f"official config.json is missing section {err}") from err
        activations = tuple(t5.get("mlp_activations", ("silu", "linear")))
        if activations != ("silu", "linear"):
            raise ValueError(f"t5_config.mlp_activations {activations} unsupported (SwiGLU expected)")
        for key in ("text_pos_emb", "image_pos_emb", "image_history_pos_emb"):
            if t5.get(key, "llama_rope") != "llama_rope":
                raise ValueError(f"t5_config.{key}={t5[key]!r} unsupported (llama_rope expected)")
        if not t5.get("qk_norm", True) or not t5.get("logits_via_embedding", True):
            raise ValueError("t5_config.qk_norm and logits_via_embedding must be true")
        if hist.get("resampler_type", "perceiver") != "perceiver":
            raise ValueError(f"image_history_cfg.resampler_type={hist['resampler_type']!r} unsupported")
        if tuple(hist.get("xattention_index", (0, 1))) != tuple(range(hist["num_layers"])):
            raise ValueError("image_history_cfg: only all-cross-attention perceivers are supported")

        def resampler(cfg: dict[str, Any]) -> ResamplerConfig:
            return ResamplerConfig(
                emb_dim=cfg["emb_dim"],
                num_heads=cfg["num_heads"],
                head_dim=cfg["head_dim"],
                mlp_dim=cfg["mlp_dim"],
                num_layers=cfg["num_layers"],
                latents_size=cfg["latents_size"],
                max_frames=cfg["max_frames"],
                scaled_cosine=bool(cfg.get("xattn_scaled_cosine", False)),
            )

        patch = t5.get("image_vit_patch_size", vit["patch_size"])
        inputs = tuple(m for m in data.get("input_modalities", SUPPORTED_INPUTS) if m in SUPPORTED_INPUTS)
        audio_hist = data.get("audio_history_cfg")
        return cls(
            emb_dim=t5["emb_dim"],
            num_heads=t5["num_heads"],
            head_dim=t5["head_dim"],
            mlp_dim=t5["mlp_dim"],
            num_encoder_layers=t5["num_encoder_layers"],
            num_decoder_layers=t5["num_decoder_layers"],
            decoder_xattention_interval=t5.get("decoder_xattention_internval", 1),
            dropout_rate=t5.get("dropout_rate", 0.0),
            vocab_size=t5["vocab_size"],
            image_vocab_size=t5.get("image_vocab_size", 16512),
            audio_vocab_size=t5.get("audio_vocab_size", 8320),
            encoder_max_text_length=t5.get("encoder_max_text_length", 512),
            decoder_max_text_length=t5.get("decoder_max_text_length", 512),
            image_input_size=tuple(t5.get("default_image_vit_size", (384, 384))),
            image_history_input_size=tuple(t5.get("default_image_history_vit_size", (256, 256))),
            image_rope_scale=math.sqrt(
                t5.get("decoder_max_image_length", 1024) / t5.get("encoder_max_image_length", 576)
            ),
            audio_input_size=tuple(t5.get("default_audio_vit_size", (256, 128))),
            audio_history_input_size=tuple(t5.get("default_audio_history_vit_size", (256, 128))),
            vit=ViTConfig(
                emb_dim=vit["emb_dim"],
                num_heads=vit["num_heads"],
                head_dim=vit["head_dim"],
                mlp_dim=vit["mlp_dim"],
                num_layers=vit["num_layers"],
                patch_size=patch,
                num_pos=vit.get("num_pos", 197),
            ),
            image_history=resampler(hist),
            audio_history=resampler(audio_hist) if audio_hist else ResamplerConfig(latents_size=16),
            input_modalities=inputs,
            target_modalities=("text",),
            freeze_vit=bool(data.get("freeze_vit", True)),
        )

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> UIOConfig:
        """``tiny`` (tests), ``small`` (CPU training), ``large``/``xl``/``xxl`` (official sizes).

        ``UIOConfig.preset("small", vit={"num_layers": 2})`` keeps the preset's other ViT fields."""
        if name not in PRESETS:
            raise ValueError(f"unknown UIOConfig preset {name!r}; choose from {sorted(PRESETS)}")
        config = PRESETS[name]()
        # a dict for a nested config (``vit``, ``image_history``, ...) changes only the fields it names
        overrides = {
            key: dataclasses.replace(getattr(config, key), **value) if isinstance(value, Mapping) else value
            for key, value in overrides.items()
        }
        return dataclasses.replace(config, **overrides) if overrides else config


def _tiny() -> UIOConfig:
    return UIOConfig(
        emb_dim=64,
        num_heads=2,
        head_dim=32,
        mlp_dim=128,
        num_encoder_layers=2,
        num_decoder_layers=2,
        image_input_size=(64, 64),
        image_history_input_size=(32, 32),
        vit=ViTConfig(emb_dim=32, num_heads=2, head_dim=16, mlp_dim=64, num_layers=2, num_pos=1 + 4 * 4),
        image_history=ResamplerConfig(emb_dim=32, num_heads=2, head_dim=16, mlp_dim=64, latents_size=8),
        audio_history=ResamplerConfig(emb_dim=32, num_heads=2, head_dim=16, mlp_dim=64, latents_size=4),
        freeze_vit=False,
    )


def _small() -> UIOConfig:
    return UIOConfig(
        emb_dim=256,
        num_heads=4,
        head_dim=64,
        mlp_dim=768,
        num_encoder_layers=4,
        num_decoder_layers=4,
        image_input_size=(256, 256),
        image_history_input_size=(128, 128),
        vit=ViTConfig(emb_dim=192, num_heads=3, head_dim=64, mlp_dim=768, num_layers=4, num_pos=1 + 16 * 16),
        image_history=ResamplerConfig(emb_dim=192, num_heads=3, head_dim=64, mlp_dim=512, latents_size=16),
        audio_history=ResamplerConfig(emb_dim=192, num_heads=3, head_dim=64, mlp_dim=512, latents_size=8),
        freeze_vit=False,
    )


def _large() -> UIOConfig:
    return UIOConfig()


def _xl() -> UIOConfig:
    wide = ResamplerConfig(emb_dim=1024, num_heads=16, head_dim=64, mlp_dim=4096)
    return UIOConfig(
        emb_dim=2048,
        num_heads=16,
        head_dim=128,
        mlp_dim=5120,
        image_history=wide,
        audio_history=dataclasses.replace(wide, latents_size=16),
    )


def _xxl() -> UIOConfig:
    cosine = ResamplerConfig(emb_dim=1024, num_heads=16, head_dim=64, mlp_dim=4096, scaled_cosine=True)
    return UIOConfig(
        emb_dim=3072,
        num_heads=24,
        head_dim=128,
        mlp_dim=8192,
        image_history=cosine,
        audio_history=dataclasses.replace(cosine, latents_size=16),
    )


PRESETS = {"tiny": _tiny, "small": _small, "large": _large, "xl": _xl, "xxl": _xxl}
