"""Image preprocessing: official patch layout, aspect-preserving fit, padding masks, bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from uio_agent.model.preprocess import (
    CLIP_MEAN,
    CLIP_STD,
    ImagePreprocessor,
    PreprocessConfig,
    normalize,
    patch_mask,
    patchify,
    resize_and_pad,
    unpatchify,
)

FIXTURE = (
    Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "uio2-official-tiny" / "inputs.safetensors"
)


@pytest.fixture(scope="module")
def official() -> dict[str, np.ndarray]:
    if not FIXTURE.is_file():
        message = f"official fixture missing: {FIXTURE}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from safetensors.numpy import load_file

    return load_file(str(FIXTURE))


def _pad_value() -> torch.Tensor:
    return (0 - torch.tensor(CLIP_MEAN)) / torch.tensor(CLIP_STD)


def _vima_frames(n: int = 2) -> np.ndarray:
    """VIMA-like RGB frames: (n, 128, 256, 3) uint8, channels last."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(n, 128, 256, 3), dtype=np.uint8)


# --- exactness against the official port -----------------------------------------------------------


def test_patchify_matches_official_image(official: dict[str, np.ndarray]) -> None:
    image = torch.from_numpy(official["image"])  # [1, 3, 384, 384], already normalised
    patches = patchify(image, 16)
    assert patches.shape == (1, 576, 768)
    assert torch.equal(patches, torch.from_numpy(official["image_patches"]))
    assert torch.equal(unpatchify(patches, 16, 384, 384), image)
    assert torch.equal(
        torch.arange(576, dtype=torch.int32)[None], torch.from_numpy(official["image_pos_ids"])
    )


def test_patchify_matches_official_history(official: dict[str, np.ndarray]) -> None:
    frames = torch.from_numpy(official["image_history"])  # [1, 2, 3, 256, 256]
    patches = patchify(frames, 16)
    assert patches.shape == (1, 2, 256, 768)
    assert torch.equal(patches, torch.from_numpy(official["image_history_patches"]))


def test_full_pipeline_on_official_pixels(official: dict[str, np.ndarray]) -> None:
    """Un-normalised fixture pixels at the target size go through unresized and give the fixture patches."""
    image = torch.from_numpy(official["image"][0])
    pixels = image * torch.tensor(CLIP_STD).view(3, 1, 1) + torch.tensor(CLIP_MEAN).view(3, 1, 1)
    out = ImagePreprocessor().image_input(pixels.clamp(0, 1))
    assert torch.allclose(out.patches, torch.from_numpy(official["image_patches"]), atol=1e-5)
    assert torch.equal(out.mask, torch.from_numpy(official["image_mask"]))
    assert torch.equal(out.pos_ids, torch.from_numpy(official["image_pos_ids"]))


# --- aspect ratio, padding, masks ------------------------------------------------------------------


def test_vima_frames_image_input() -> None:
    frames = _vima_frames()
    out = ImagePreprocessor().image_input(frames)
    assert out.patches.shape == (2, 576, 768) and out.patches.dtype == torch.float32
    assert out.mask.dtype == torch.int32 and out.pos_ids.dtype == torch.int32
    info = out.info[0]
    assert (info.scale, info.resized_height, info.resized_width, info.top, info.left) == (
        1.5,
        192,
        384,
        96,
        0,
    )
    grid = out.mask.view(2, 24, 24)
    assert grid[:, 6:18].all() and not grid[:, :6].any() and not grid[:, 18:].any()
    # padding pixels are zero before normalisation, i.e. -mean/std after it
    pad = out.patches[0, 0].view(16, 16, 3)
    assert torch.allclose(pad, _pad_value().expand(16, 16, 3))
    # the valid region is the bilinear antialiased resize of the frame
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() * (1 / 255)
    resized = F.interpolate(x, size=(192, 384), mode="bilinear", antialias=True, align_corners=False).clamp(
        0, 1
    )
    image = unpatchify(out.patches, 16, 384, 384)
    assert torch.allclose(image[:, :, 96:288], normalize(resized), atol=1e-6)


def test_vima_frames_history_and_missing_frames() -> None:
    frames = _vima_frames(3)
    out = ImagePreprocessor().image_history([frames, frames[:1], []])
    assert out.patches.shape == (3, 3, 256, 768)
    grid = out.mask.view(3, 3, 16, 16)
    assert grid[0, :, 4:12].all() and not grid[0, :, :4].any() and not grid[0, :, 12:].any()
    assert out.frame_mask is not None
    assert out.frame_mask.tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 0]]
    assert out.mask.sum(-1).tolist() == [[128, 128, 128], [128, 0, 0], [0, 0, 0]]
    assert torch.equal(out.patches[0, 0], out.patches[1, 0])
    assert not out.patches[1, 1:].any() and not out.pos_ids[1, 1:].any()
    assert out.pos_ids[0, 2].tolist() == list(range(256))
    assert [len(i) for i in out.info] == [3, 1, 0] and out.info[0][0].top == 64
    padded = ImagePreprocessor().image_history([frames[:1]], num_frames=4)
    assert padded.patches.shape[1] == 4 and padded.frame_mask is not None
    assert padded.frame_mask.tolist() == [[1, 0, 0, 0]]
    assert ImagePreprocessor().image_history(torch.zeros(2, 3, 3, 32, 32)).patches.shape == (2, 3, 256, 768)


def test_tall_image_and_layouts_agree() -> None:
    rng = np.random.default_rng(1)
    hwc = rng.integers(0, 256, size=(256, 128, 3), dtype=np.uint8)
    pre = ImagePreprocessor()
    a = pre.image_input(hwc)
    b = pre.image_input(np.ascontiguousarray(hwc.transpose(2, 0, 1)), channels_last=False)
    c = pre.image_input(torch.from_numpy(hwc).permute(2, 0, 1).float() / 255)
    assert torch.equal(a.patches, b.patches) and torch.allclose(a.patches, c.patches, atol=1e-6)
    grid = a.mask.view(24, 24)  # 256x128 -> 384x192, left pad 96 = 6 patches
    assert a.info[0].left == 96 and grid[:, 6:18].all() and not grid[:, :6].any() and not grid[:, 18:].any()


def test_partially_padded_patches_follow_official_centre_rule() -> None:
    # 100x384 fits unscaled; rows 142..241 are image. Patch row r is valid iff pixel row 16r+8 is image,
    # so rows 9..14 are valid while rows 8 (pixels 128..143) and 15 (240..255) hold a little image too.
    out = ImagePreprocessor().image_input(np.full((100, 384, 3), 200, dtype=np.uint8))
    assert out.info[0].top == 142
    rows = out.mask.view(24, 24).all(-1).tolist()
    assert [r for r, ok in enumerate(rows) if ok] == list(range(9, 15))
    _, pmask, _ = resize_and_pad(np.full((100, 384, 3), 200, dtype=np.uint8), 384)
    assert pmask[0, 142:242].all() and not pmask[0, :142].any() and not pmask[0, 242:].any()
    assert torch.equal(patch_mask(pmask, 16), out.mask)


def test_downscale_keeps_constant_colour_and_aspect() -> None:
    image = np.full((480, 640, 3), (10, 128, 250), dtype=np.uint8)
    pixels, _, infos = resize_and_pad(image, 384)
    info = infos[0]
    assert (info.resized_height, info.resized_width, info.top, info.left) == (288, 384, 48, 0)
    inside = pixels[0, :, 48:336]
    expected = torch.tensor([10, 128, 250], dtype=torch.float32).view(3, 1, 1) / 255
    assert torch.allclose(inside, expected.expand_as(inside), atol=1e-6)
    assert not pixels[0, :, :48].any() and not pixels[0, :, 336:].any()


def test_mixed_sizes_in_one_batch() -> None:
    batch = [
        np.zeros((128, 256, 3), np.uint8),
        np.zeros((300, 300, 3), np.uint8),
        np.zeros((64, 32, 3), np.uint8),
    ]
    out = ImagePreprocessor().image_input(batch)
    assert out.patches.shape == (3, 576, 768)
    assert out.mask.sum(-1).tolist() == [288, 576, 288]


def test_resize_info_maps_boxes_back() -> None:
    out = ImagePreprocessor().image_input(_vima_frames(1))
    info = out.info[0]
    box = np.array([10.0, 20.0, 100.0, 250.0])  # y1 x1 y2 x2 in the 128x256 frame
    inside = info.to_input(box)
    assert np.allclose(inside, [111, 30, 246, 375])
    assert np.allclose(info.to_original(inside), box)
    assert np.allclose(info.to_original(info.to_input(box, normalized=True), normalized=True), box)
    with pytest.raises(ValueError, match="pairs"):
        info.to_original([1.0, 2.0, 3.0])


# --- configuration ---------------------------------------------------------------------------------------


def test_config_round_trip_and_small_sizes() -> None:
    cfg = PreprocessConfig(image_input_size=64, image_history_input_size=(32, 48), patch_size=16)
    assert cfg.image_input_size == (64, 64)
    data = json.loads(json.dumps(cfg.to_dict()))
    assert PreprocessConfig.from_dict(data) == cfg
    assert PreprocessConfig.from_dict({}) == PreprocessConfig()
    pre = ImagePreprocessor(cfg)
    assert pre.image_input(_vima_frames(1)).patches.shape == (1, 16, 768)
    hist = pre.image_history([_vima_frames(2)])
    assert hist.patches.shape == (1, 2, 6, 768)

    class _Vit:
        patch_size = 8

    class _Model:
        image_input_size = (64, 64)
        image_history_input_size = (32, 32)
        vit = _Vit()

    assert PreprocessConfig.from_model_config(_Model()).patch_size == 8


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"image_input_size": 100}, "image_input_size"),
        ({"image_history_input_size": (0, 16)}, "image_history_input_size"),
        ({"patch_size": 0}, "patch_size"),
        ({"std": (1.0, 0.0, 1.0)}, "std"),
        ({"mean": (0.5, 0.5)}, "mean"),
    ],
)
def test_bad_config(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        PreprocessConfig(**kwargs)  # type: ignore[arg-type]


def test_unknown_config_key() -> None:
    with pytest.raises(ValueError, match="image_size"):
        PreprocessConfig.from_dict({"image_size": 384})


# --- bad input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.zeros((128, 256, 3), np.int32), "image: dtype"),
        (np.zeros((128, 256, 4), np.uint8), "image: expected 3 colour channels"),
        (np.zeros((128, 256), np.uint8), "image: expected a 3-D image"),
        (np.zeros((0, 256, 3), np.uint8), "image: image has zero"),
        (np.full((8, 8, 3), 255.0, np.float32), r"image: float images must lie in \[0, 1\]"),
        (np.full((8, 8, 3), np.nan, np.float32), "image: float image contains NaN"),
        (torch.zeros(8, 8, 3), "image: expected 3 colour channels"),
        (torch.zeros(3, 8, 8, dtype=torch.int64), "image: dtype"),
        ([], "image: empty batch"),
        ("frame.png", "image: expected an array"),
        ([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 2), np.uint8)], r"image\[1\]: expected 3 colour"),
    ],
)
def test_bad_image_input(image: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ImagePreprocessor().image_input(image)


def test_bad_history_input() -> None:
    pre = ImagePreprocessor()
    with pytest.raises(ValueError, match=r"image_history\[0\]: expected the example's frames"):
        pre.image_history([np.zeros((8, 8, 3), np.uint8)])
    with pytest.raises(ValueError, match="image_history: an array must be 5-D"):
        pre.image_history(np.zeros((2, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match=r"image_history\[0\]\[1\]: dtype"):
        pre.image_history([[np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.int16)]])
    with pytest.raises(ValueError, match="num_frames=1"):
        pre.image_history([_vima_frames(2)], num_frames=1)
    with pytest.raises(ValueError, match="image_history: expected a non-empty list"):
        pre.image_history([])
