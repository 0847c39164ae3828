"""Procedural equivalents of VIMA's texture images (VIMA's own JPGs are not shipped).

Every image texture is drawn from its pattern (stripes, dots, swirls, bricks, ...) in VIMA's colours
and then shifted so its mean RGB equals the mean of VIMA's image (reference §12.3), so colour
statistics that a policy may rely on match. Plain colours are materials without an image.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from uio_agent.envs.tabletop.catalog import BASE_COLORS, TEXTURES, darker

#: Side of every procedural texture image, in pixels.
TEXTURE_SIZE = 64

#: Mean RGB of VIMA's texture images (reference §12.3); images are shifted to these means.
IMAGE_MEANS: dict[str, tuple[int, int, int]] = {
    "brick": (184, 123, 106),
    "checkerboard": (133, 130, 120),
    "granite": (178, 190, 187),
    "magma": (67, 17, 5),
    "plastic": (224, 222, 222),
    "polka dot": (209, 209, 209),
    "rainbow": (138, 106, 102),
    "tiger": (135, 89, 21),
    "tiles": (135, 134, 128),
    "wooden": (216, 173, 124),
}


def _rgb(name: str, dark: bool = False) -> np.ndarray:
    c = np.asarray(BASE_COLORS[name], dtype=float) / 255.0
    if dark:
        c = np.asarray(darker((float(c[0]), float(c[1]), float(c[2]))))
    return c * 255.0


def _grid() -> tuple[np.ndarray, np.ndarray]:
    t = (np.arange(TEXTURE_SIZE) + 0.5) / TEXTURE_SIZE
    return np.meshgrid(t, t, indexing="xy")


def _noise(rng: np.random.Generator, cells: int) -> np.ndarray:
    """Smooth value noise in [0, 1]: a random ``cells`` x ``cells`` grid, bilinearly upsampled."""
    g = rng.random((cells + 1, cells + 1))
    x = np.linspace(0, cells, TEXTURE_SIZE, endpoint=False)
    i = x.astype(int)
    f = x - i
    rows = g[i] * (1 - f)[:, None] + g[i + 1] * f[:, None]
    return rows[:, i] * (1 - f)[None, :] + rows[:, i + 1] * f[None, :]


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    return a[None, None, :] * (1 - t[..., None]) + b[None, None, :] * t[..., None]


def _stripes(c1: np.ndarray, c2: np.ndarray) -> np.ndarray:
    x, y = _grid()
    t = 0.5 + 0.5 * np.tanh(3.0 * np.sin(2 * math.pi * 4 * (x + y)))
    return _mix(c1, c2, t)


def _dots(background: np.ndarray, dot: np.ndarray, radius: float = 0.15, cells: int = 4) -> np.ndarray:
    x, y = _grid()
    fx, fy = (x * cells) % 1.0 - 0.5, (y * cells) % 1.0 - 0.5
    inside = (np.hypot(fx, fy) < radius * 2).astype(float)
    return _mix(background, dot, inside)


def _swirl(c: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    x, y = _grid()
    r, a = np.hypot(x - 0.5, y - 0.5), np.arctan2(y - 0.5, x - 0.5)
    t = 0.5 + 0.5 * np.sin(3 * a + 18 * r + 4 * _noise(rng, 3))
    return _mix(np.full(3, 248.0), c, np.clip(t * 2 * amount, 0, 1))


def _paisley(c: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x, y = _grid()
    out = np.zeros(x.shape)
    for cx, cy in rng.random((7, 2)):
        d = np.hypot((x - cx) * 1.0, (y - cy) * 1.6)
        out = np.maximum(out, (d < 0.14).astype(float) * (0.6 + 0.4 * np.cos(40 * d)))
    base = _mix(np.full(3, 255.0), c, np.full(x.shape, 0.55))
    return base * (1 - 0.5 * out)[..., None]


def _image(name: str, rng: np.random.Generator) -> np.ndarray:
    x, y = _grid()
    n = _noise(rng, 8)
    if name == "brick":
        row = (y * 8).astype(int)
        bx = (x * 4 + 0.5 * (row % 2)) % 1.0
        mortar = ((y * 8) % 1.0 < 0.12) | (bx < 0.06)
        img = _mix(np.array([170.0, 80, 60]), np.array([200.0, 120, 90]), n)
        img[mortar] = (215, 210, 200)
        return img
    if name == "tiles":
        grout = ((x * 4) % 1.0 < 0.06) | ((y * 4) % 1.0 < 0.06)
        img = _mix(np.array([120.0, 120, 115]), np.array([160.0, 160, 152]), n)
        img[grout] = (70, 70, 66)
        return img
    if name == "wooden":
        t = 0.5 + 0.5 * np.sin(2 * math.pi * (6 * x + 2.5 * n))
        return _mix(np.array([200.0, 150, 100]), np.array([232.0, 195, 148]), t)
    if name == "granite":
        speck = rng.random(x.shape)
        return _mix(np.array([120.0, 130, 128]), np.array([215.0, 225, 222]), 0.35 * n + 0.65 * speck)
    if name == "plastic":
        return _mix(np.array([195.0, 193, 193]), np.array([250.0, 248, 248]), n)
    if name == "polka dot":
        return _dots(np.full(3, 250.0), np.full(3, 20.0), radius=0.12)
    if name == "checkerboard":
        t = ((x * 4).astype(int) + (y * 4).astype(int)) % 2
        return _mix(np.array([80.0, 77, 67]), np.array([186.0, 183, 173]), t.astype(float))
    if name == "tiger":
        t = (np.sin(2 * math.pi * (5 * y + 1.5 * n + 0.3 * np.sin(6 * x))) > 0.55).astype(float)
        return _mix(np.array([215.0, 130, 30]), np.array([25.0, 15, 5]), t)
    if name == "magma":
        veins = np.exp(-(((n - 0.5) * 12) ** 2))
        return _mix(np.array([40.0, 5, 2]), np.array([250.0, 110, 20]), veins)
    if name == "rainbow":
        hue = (x + 0.2 * n) % 1.0
        k = np.stack([(hue * 6 + off) % 6 for off in (5.0, 3.0, 1.0)], axis=-1)
        return 255.0 * (1 - np.clip(np.minimum(k, 4 - k), 0, 1))
    raise ValueError(f"no procedural image for texture {name!r}")


@cache
def texture_image(name: str) -> np.ndarray:
    """The (TEXTURE_SIZE, TEXTURE_SIZE, 3) uint8 image of texture ``name``, deterministic per name."""
    spec = TEXTURES[name]
    if spec.color_value is not None:
        img = np.broadcast_to(np.asarray(spec.color_value) * 255.0, (TEXTURE_SIZE, TEXTURE_SIZE, 3)).copy()
        return np.round(img).astype(np.uint8)
    rng = np.random.default_rng(sum(map(ord, name)))
    words = name.split()
    dark = words[0] == "dark"
    if dark:
        words = words[1:]
    kind = " ".join(words[3:]) if "and" in words else " ".join(words[1:])
    if "and" in words and kind == "stripe":
        img = _stripes(_rgb(words[0], dark), _rgb(words[2], dark))
    elif "and" in words and kind == "polka dot":
        img = _dots(_rgb(words[2], dark), _rgb(words[0], dark))
    elif kind == "swirl":
        img = _swirl(_rgb(words[0], dark), rng, 0.5)
    elif kind == "paisley":
        img = _paisley(_rgb(words[0]), rng)
    else:
        img = _image(name, rng)
        target = np.asarray(IMAGE_MEANS[name], dtype=float)
        for _ in range(4):  # shift to VIMA's mean; repeated because clipping at 0/255 moves it back
            img = np.clip(img + (target - img.reshape(-1, 3).mean(axis=0)), 0, 255)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)
