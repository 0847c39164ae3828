"""UIO-2 image preprocessing: images and history frames -> patch tensors the encoder consumes.

The steps reproduce the official pipeline (PT ``uio2/data_utils.py`` ``resize_and_pad`` and the
``preprocess_inputs`` of the image / image-history encoders; ``reference/uio2-architecture.md`` §1.5):

1. pixels to float32 in [0, 1] (uint8 is multiplied by 1/255, as ``tf.image.convert_image_dtype``);
2. resize keeping the aspect ratio so the image fits the target: ``scale = min(Ht/H, Wt/W)`` and size
   ``int(H*scale) x int(W*scale)``, computed in float32 with truncation like the official code; the
   resampling is ``torch.nn.functional.interpolate(mode="bilinear", antialias=True,
   align_corners=False)`` (triangle filter widened when downsampling, as TF's antialiased bilinear),
   then clipped to [0, 1];
3. centre-pad with zeros to the target (``top = (Ht - h) // 2``, ``left = (Wt - w) // 2``), *then*
   normalise with the OpenAI CLIP mean/std, so padding pixels hold ``-mean/std`` (not 0);
4. patchify row-major over the patch grid, each patch flattened in (dh, dw, c) order (channel fastest):
   ``patches[h*gw + w, (dh*p + dw)*3 + c] = image[c, h*p + dh, w*p + dw]``;
5. patch mask: the official code resizes the pixel validity mask to the patch grid with
   nearest-neighbour sampling (TF, half-pixel centres), i.e. **a patch is valid iff its pixel at
   offset (p//2, p//2) is image, not padding**. Whenever the padding is a multiple of the patch size (every
   VIMA and navigation frame at the default sizes) this equals "valid iff not entirely padding"; for a
   partly padded patch the centre pixel decides;
6. ``pos_ids`` = patch index ``h*gw + w`` (all patches are kept; training-time patch sampling is not
   done here). Absent history frames get zero patches, mask 0 and pos_ids 0 (the official padding).

Inputs, explicitly: a single image or a batch, as numpy arrays or torch tensors. ``uint8`` values are
0..255; floating values must already lie in [0, 1]. Layout defaults by container: numpy arrays are
channels-last (``(H, W, 3)`` / ``(N, H, W, 3)``), torch tensors channels-first (``(3, H, W)`` /
``(N, 3, H, W)``); pass ``channels_last=`` to override (e.g. VIMA's ``(3, 128, 256)`` uint8 arrays need
``channels_last=False``). A list may mix sizes. Random-scale training augmentation is not implemented.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "CLIP_MEAN",
    "CLIP_STD",
    "ImagePatches",
    "ImagePreprocessor",
    "PreprocessConfig",
    "ResizeInfo",
    "normalize",
    "patch_mask",
    "patchify",
    "resize_and_pad",
    "to_image_list",
    "unpatchify",
]

CLIP_MEAN: tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD: tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)


def _size_pair(name: str, value: Any) -> tuple[int, int]:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        value = (int(value), int(value))
    if (
        not isinstance(value, Sequence)
        or len(value) != 2
        or not all(isinstance(v, int | np.integer) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        raise ValueError(f"{name} must be a positive int or (height, width) of positive ints, got {value!r}")
    return int(value[0]), int(value[1])


@dataclass(frozen=True)
class PreprocessConfig:
    """Sizes and normalisation of the image streams; saved as a checkpoint's ``preprocess.json``."""

    image_input_size: tuple[int, int] = (384, 384)
    image_history_input_size: tuple[int, int] = (256, 256)
    patch_size: int = 16
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD

    def __post_init__(self) -> None:
        if isinstance(self.patch_size, bool) or not isinstance(self.patch_size, int) or self.patch_size <= 0:
            raise ValueError(f"patch_size must be a positive int, got {self.patch_size!r}")
        for name in ("image_input_size", "image_history_input_size"):
            h, w = _size_pair(name, getattr(self, name))
            if h % self.patch_size or w % self.patch_size:
                raise ValueError(f"{name} {h}x{w} must be divisible by patch_size {self.patch_size}")
            object.__setattr__(self, name, (h, w))
        for name in ("mean", "std"):
            values = getattr(self, name)
            if not isinstance(values, Sequence) or len(values) != 3:
                raise ValueError(f"{name} must have 3 values (R, G, B), got {values!r}")
            floats = tuple(float(v) for v in values)
            if name == "std" and not all(v > 0 for v in floats):
                raise ValueError(f"std values must be positive, got {floats}")
            object.__setattr__(self, name, floats)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples as lists)."""
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in dataclasses.fields(self)
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PreprocessConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise (a newer or foreign ``preprocess.json``)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown preprocess config keys {unknown}; known keys: {sorted(known)}")
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**kwargs)

    @classmethod
    def from_model_config(cls, config: Any) -> PreprocessConfig:
        """Sizes from a model config with ``image_input_size``, ``image_history_input_size``, ``vit.patch_size``."""
        return cls(
            image_input_size=tuple(config.image_input_size),
            image_history_input_size=tuple(config.image_history_input_size),
            patch_size=int(config.vit.patch_size),
        )


@dataclass(frozen=True)
class ResizeInfo:
    """How one image was fitted into the target, to map coordinates between the two."""

    height: int  # original size
    width: int
    scale: float  # resized = original * scale
    resized_height: int
    resized_width: int
    top: int  # padding above / left of the resized image
    left: int
    target_height: int
    target_width: int

    def _offsets(self, coords: np.ndarray, normalized: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        arr = np.asarray(coords, dtype=np.float64)
        if arr.ndim == 0 or arr.shape[-1] % 2:
            raise ValueError(f"coords must end in an even axis of (y, x) pairs, got shape {arr.shape}")
        offset = np.tile([self.top, self.left], arr.shape[-1] // 2)
        size = np.tile([self.target_height, self.target_width], arr.shape[-1] // 2)
        return arr, offset, size

    def to_original(self, coords: Any, normalized: bool = False) -> np.ndarray:
        """Map (y, x, ...) pairs (e.g. y1 x1 y2 x2 boxes) from the padded input to original pixels.

        ``normalized=True`` takes fractions of the padded input, as decoded from location tokens.
        """
        arr, offset, size = self._offsets(coords, normalized)
        if normalized:
            arr = arr * size
        return (arr - offset) / self.scale

    def to_input(self, coords: Any, normalized: bool = False) -> np.ndarray:
        """Map (y, x, ...) pairs from original pixels into the padded input (fractions if ``normalized``)."""
        arr, offset, size = self._offsets(coords, normalized)
        out = arr * self.scale + offset
        return out / size if normalized else out


@dataclass
class ImagePatches:
    """Patches ready for the model (names match ``ModelInputs``: ``image_patches``, ``image_mask``, ...).

    Image input: ``patches`` [N, P, p*p*3] float32, ``mask`` and ``pos_ids`` [N, P] int32, ``info`` a
    list of N :class:`ResizeInfo`. History: ``patches`` [B, F, P, p*p*3], ``mask``/``pos_ids`` [B, F, P],
    ``frame_mask`` [B, F] int32 (1 = frame present) and ``info`` one list per example (present frames).
    """

    patches: Tensor
    mask: Tensor
    pos_ids: Tensor
    info: list[Any]
    frame_mask: Tensor | None = field(default=None)

    def to(self, device: torch.device | str) -> ImagePatches:
        fm = None if self.frame_mask is None else self.frame_mask.to(device)
        return ImagePatches(
            self.patches.to(device), self.mask.to(device), self.pos_ids.to(device), self.info, fm
        )


# --- input handling -------------------------------------------------------------------------------------


def _one_image(x: Any, name: str, channels_last: bool | None) -> Tensor:
    """One image as a float32 [3, H, W] tensor in [0, 1]; ValueError naming ``name`` otherwise."""
    if isinstance(x, np.ndarray):
        last = True if channels_last is None else channels_last
        if x.dtype != np.uint8 and not np.issubdtype(x.dtype, np.floating):
            raise ValueError(f"{name}: dtype must be uint8 (0..255) or floating (0..1), got numpy {x.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(x))
    elif isinstance(x, Tensor):
        last = False if channels_last is None else channels_last
        if x.dtype != torch.uint8 and not x.dtype.is_floating_point:
            raise ValueError(f"{name}: dtype must be uint8 (0..255) or floating (0..1), got {x.dtype}")
        t = x.detach().cpu()
    else:
        raise ValueError(f"{name}: expected a numpy array or torch tensor, got {type(x).__name__}")
    layout = "(H, W, 3)" if last else "(3, H, W)"
    if t.ndim != 3:
        raise ValueError(f"{name}: expected one image of shape {layout}, got shape {tuple(t.shape)}")
    if last:
        t = t.permute(2, 0, 1)
    if t.shape[0] != 3:
        raise ValueError(f"{name}: expected 3 colour channels in layout {layout}, got shape {tuple(x.shape)}")
    if t.shape[1] == 0 or t.shape[2] == 0:
        raise ValueError(f"{name}: image has zero height or width, shape {tuple(x.shape)}")
    if t.dtype == torch.uint8:
        return t.to(torch.float32) * (1.0 / 255.0)
    t = t.to(torch.float32)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name}: float image contains NaN or infinite values")
    lo, hi = float(t.min()), float(t.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{name}: float images must lie in [0, 1], got values in [{lo:g}, {hi:g}]; "
            "pass uint8 pixels or divide by 255"
        )
    return t


def to_image_list(images: Any, name: str = "image", channels_last: bool | None = None) -> list[Tensor]:
    """A single image, a 4-D batch or a list of images -> list of float32 [3, H, W] tensors in [0, 1]."""
    if isinstance(images, np.ndarray | Tensor):
        if images.ndim == 3:
            return [_one_image(images, name, channels_last)]
        if images.ndim == 4:
            if images.shape[0] == 0:
                raise ValueError(f"{name}: empty batch")
            return [_one_image(images[i], f"{name}[{i}]", channels_last) for i in range(images.shape[0])]
        raise ValueError(f"{name}: expected a 3-D image or a 4-D batch, got shape {tuple(images.shape)}")
    if isinstance(images, Sequence) and not isinstance(images, str | bytes):
        if len(images) == 0:
            raise ValueError(f"{name}: empty batch")
        return [_one_image(im, f"{name}[{i}]", channels_last) for i, im in enumerate(images)]
    raise ValueError(f"{name}: expected an array, a tensor or a list of them, got {type(images).__name__}")


# --- the steps ------------------------------------------------------------------------------------------


def _fit(height: int, width: int, target: tuple[int, int]) -> tuple[float, int, int]:
    """Official fitting arithmetic in float32 with truncation (so sizes match the reference bit for bit)."""
    th, tw = np.float32(target[0]), np.float32(target[1])
    h, w = np.float32(height), np.float32(width)
    scale = np.minimum(th / h, tw / w)
    return float(scale), max(1, int(h * scale)), max(1, int(w * scale))


def resize_and_pad(
    images: Any, size: int | tuple[int, int], *, channels_last: bool | None = None, name: str = "image"
) -> tuple[Tensor, Tensor, list[ResizeInfo]]:
    """Fit images into ``size`` keeping the aspect ratio, centre-padded with zeros (before normalising).

    Returns ``(pixels [N, 3, Ht, Wt] float32 in [0, 1], pixel_mask [N, Ht, Wt] int32, infos)``.
    """
    target = _size_pair("size", size)
    ims = to_image_list(images, name, channels_last)
    out = torch.zeros(len(ims), 3, *target)
    mask = torch.zeros(len(ims), *target, dtype=torch.int32)
    infos: list[ResizeInfo] = []
    # Resize images of equal size together (one interpolate call per distinct input size).
    groups: dict[tuple[int, int], list[int]] = {}
    for i, im in enumerate(ims):
        groups.setdefault((im.shape[1], im.shape[2]), []).append(i)
    info_of: dict[int, ResizeInfo] = {}
    for (h, w), idx in groups.items():
        scale, sh, sw = _fit(h, w, target)
        x = torch.stack([ims[i] for i in idx])
        if (sh, sw) != (h, w):
            x = F.interpolate(x, size=(sh, sw), mode="bilinear", antialias=True, align_corners=False)
            x = x.clamp_(0.0, 1.0)
        top, left = (target[0] - sh) // 2, (target[1] - sw) // 2
        out[idx, :, top : top + sh, left : left + sw] = x
        mask[idx, top : top + sh, left : left + sw] = 1
        info = ResizeInfo(h, w, scale, sh, sw, top, left, target[0], target[1])
        for i in idx:
            info_of[i] = info
    infos = [info_of[i] for i in range(len(ims))]
    return out, mask, infos


def normalize(pixels: Tensor, mean: Sequence[float] = CLIP_MEAN, std: Sequence[float] = CLIP_STD) -> Tensor:
    """``(x - mean) / std`` per channel of [..., 3, H, W] (subtract, then divide, as the official code)."""
    m = torch.tensor(mean, dtype=pixels.dtype).view(3, 1, 1)
    s = torch.tensor(std, dtype=pixels.dtype).view(3, 1, 1)
    return (pixels - m) / s


def patchify(images: Tensor, patch_size: int) -> Tensor:
    """[..., C, H, W] -> [..., (H/p)*(W/p), p*p*C], patches row-major, each flattened (dh, dw, c)."""
    *lead, c, h, w = images.shape
    p = patch_size
    if h % p or w % p:
        raise ValueError(f"image size {h}x{w} is not divisible by patch_size {p}")
    x = images.reshape(*lead, c, h // p, p, w // p, p)
    n = len(lead)
    x = x.permute(*range(n), n + 1, n + 3, n + 2, n + 4, n)  # [..., gh, gw, dh, dw, c]
    return x.reshape(*lead, (h // p) * (w // p), p * p * c)


def unpatchify(patches: Tensor, patch_size: int, height: int, width: int, channels: int = 3) -> Tensor:
    """Inverse of :func:`patchify`: [..., P, p*p*C] -> [..., C, H, W]."""
    *lead, n_patches, dim = patches.shape
    p, gh, gw = patch_size, height // patch_size, width // patch_size
    if n_patches != gh * gw or dim != p * p * channels:
        raise ValueError(f"patches of shape {tuple(patches.shape)} do not tile {height}x{width} with p={p}")
    x = patches.reshape(*lead, gh, gw, p, p, channels)
    n = len(lead)
    x = x.permute(*range(n), n + 4, n, n + 2, n + 1, n + 3)  # [..., c, gh, dh, gw, dw]
    return x.reshape(*lead, channels, height, width)


def patch_mask(pixel_mask: Tensor, patch_size: int) -> Tensor:
    """[..., H, W] pixel validity -> [..., P] int32 patch validity (official: the pixel at (p//2, p//2))."""
    c = patch_size // 2
    sampled = pixel_mask[..., c::patch_size, c::patch_size]
    return sampled.reshape(*pixel_mask.shape[:-2], -1).to(torch.int32)


# --- the two image streams ------------------------------------------------------------------------------


class ImagePreprocessor:
    """Official preprocessing for the image input and the image-history streams of one config."""

    def __init__(self, config: PreprocessConfig | None = None) -> None:
        self.config = config or PreprocessConfig()

    def _patches(
        self, images: Any, size: tuple[int, int], name: str, channels_last: bool | None
    ) -> ImagePatches:
        cfg = self.config
        pixels, pmask, infos = resize_and_pad(images, size, channels_last=channels_last, name=name)
        patches = patchify(normalize(pixels, cfg.mean, cfg.std), cfg.patch_size)
        mask = patch_mask(pmask, cfg.patch_size)
        pos_ids = torch.arange(patches.shape[1], dtype=torch.int32).expand(patches.shape[0], -1).contiguous()
        return ImagePatches(patches, mask, pos_ids, infos)

    def image_input(self, images: Any, *, channels_last: bool | None = None) -> ImagePatches:
        """The main image (one per example): [N, P, D] patches at ``image_input_size`` (576 at 384 px)."""
        return self._patches(images, self.config.image_input_size, "image", channels_last)

    def image_history(
        self, frames: Any, *, num_frames: int | None = None, channels_last: bool | None = None
    ) -> ImagePatches:
        """History frames per example -> [B, F, P, D] at ``image_history_input_size`` (256 per frame at 256 px).

        ``frames``: a 5-D array/tensor [B, F, ...] or a list (one entry per example) of 4-D arrays or
        lists of images; examples may have different frame counts (even 0). ``num_frames`` pads every
        example to that many frames (default: the largest count in the batch, at least 1).
        """
        name = "image_history"
        if isinstance(frames, np.ndarray | Tensor):
            if frames.ndim != 5:
                raise ValueError(
                    f"{name}: an array must be 5-D [batch, frames, ...], got shape {tuple(frames.shape)}; "
                    "wrap a single example's frames in a list"
                )
            per_example: list[Any] = [frames[b] for b in range(frames.shape[0])]
        elif isinstance(frames, Sequence) and not isinstance(frames, str | bytes) and len(frames) > 0:
            per_example = list(frames)
        else:
            raise ValueError(f"{name}: expected a non-empty list of per-example frames or a 5-D array")
        flat: list[Tensor] = []
        counts: list[int] = []
        for b, example in enumerate(per_example):
            if isinstance(example, np.ndarray | Tensor) and example.ndim != 4:
                raise ValueError(
                    f"{name}[{b}]: expected the example's frames as a 4-D array or a list of images, got "
                    f"shape {tuple(example.shape)} (a single frame must be wrapped in a list)"
                )
            if not isinstance(example, np.ndarray | Tensor | Sequence) or isinstance(example, str | bytes):
                raise ValueError(
                    f"{name}[{b}]: expected a 4-D array or a list of images, got {type(example).__name__}"
                )
            frames_b = [_one_image(im, f"{name}[{b}][{f}]", channels_last) for f, im in enumerate(example)]
            flat += frames_b
            counts.append(len(frames_b))
        n_frames = max(1, *counts) if num_frames is None else num_frames
        if isinstance(n_frames, bool) or not isinstance(n_frames, int) or n_frames < 1:
            raise ValueError(f"num_frames must be a positive int, got {num_frames!r}")
        if max(counts) > n_frames:
            raise ValueError(f"{name}: an example has {max(counts)} frames, over num_frames={n_frames}")
        size = self.config.image_history_input_size
        cfg = self.config
        n_patches = (size[0] // cfg.patch_size) * (size[1] // cfg.patch_size)
        dim = cfg.patch_size * cfg.patch_size * 3
        batch = len(per_example)
        patches = torch.zeros(batch, n_frames, n_patches, dim)
        mask = torch.zeros(batch, n_frames, n_patches, dtype=torch.int32)
        pos_ids = torch.zeros(batch, n_frames, n_patches, dtype=torch.int32)
        infos: list[list[ResizeInfo]] = [[] for _ in range(batch)]
        if flat:
            done = self._patches(flat, size, name, channels_last=False)
            k = 0
            for b, count in enumerate(counts):
                patches[b, :count] = done.patches[k : k + count]
                mask[b, :count] = done.mask[k : k + count]
                pos_ids[b, :count] = done.pos_ids[k : k + count]
                infos[b] = done.info[k : k + count]
                k += count
        frame_mask = (mask > 0).any(-1).to(torch.int32)
        return ImagePatches(patches, mask, pos_ids, infos, frame_mask)
