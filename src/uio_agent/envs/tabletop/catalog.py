"""VIMA-Bench's object and texture catalogues (names, sizes, symmetries, profiles, colours).

The values are VIMA-Bench's (``vima_bench/tasks/components/encyclopedia``); the geometry and images
behind them are generated procedurally by :mod:`.shapes` and :mod:`.textures`.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, field
from typing import Any

#: VIMA's ``ProfilePedia`` values.
PROFILE_UNDETERMINED, PROFILE_SQUARE_LIKE, PROFILE_CIRCLE_LIKE = -1, 0, 1


@dataclass(frozen=True)
class SizeRange:
    """Template size parameters (x, y, z) in metres, sampled uniformly per episode."""

    low: tuple[float, float, float]
    high: tuple[float, float, float]


@dataclass(frozen=True)
class ObjectSpec:
    """One entry of VIMA's object encyclopedia.

    ``symmetry`` follows VIMA: the smallest rotation (radians) mapping the object onto itself,
    ``2π`` none, ``0`` excluded from rotation checks, ``None`` undetermined.
    ``fixed``: VIMA loads it with a fixed base (the task adds it in the "fixed" category).
    """

    name: str
    size_range: SizeRange
    symmetry: float | None = None
    profile: int = PROFILE_UNDETERMINED
    alias: tuple[str, ...] | None = None
    novel_name: tuple[str, ...] | None = None
    from_template: bool = True
    fixed: bool = False

    @property
    def asset(self) -> str:
        return "procedural:" + self.name.replace(" ", "_")

    def info(self) -> dict[str, Any]:
        """``obj_*`` entries of ``meta_info["obj_id_to_info"]``, serialisable (functions as None)."""
        return {
            "obj_name": self.name,
            "obj_assets": self.asset,
            "obj_size_range": {"low": list(self.size_range.low), "high": list(self.size_range.high)},
            "obj_from_template": self.from_template,
            "obj_replace_fn": None,
            "obj_pose_transform_fn": None,
            "obj_alias": list(self.alias) if self.alias else None,
            "obj_novel_name": list(self.novel_name) if self.novel_name else None,
            "obj_template_file": None,
            "obj_symmetry": self.symmetry,
            "obj_profile": self.profile,
        }


def _fixed(x: float, y: float, z: float) -> SizeRange:
    return SizeRange((x, y, z), (x, y, z))


def _kit(scale: float) -> SizeRange:
    return _fixed(0.08 * scale, 0.08 * scale, 0.02 * scale)


_PI = math.pi
OBJECTS: dict[str, ObjectSpec] = {
    spec.name: spec
    for spec in [
        ObjectSpec("bowl", _fixed(0.17, 0.17, 0), 0, PROFILE_CIRCLE_LIKE, from_template=False, fixed=True),
        ObjectSpec("block", _fixed(0.07, 0.07, 0.07), _PI / 4, PROFILE_SQUARE_LIKE, alias=("cube",)),
        ObjectSpec("shorter block", _fixed(0.07, 0.07, 0.03), _PI / 4, PROFILE_SQUARE_LIKE, alias=("cube",)),
        ObjectSpec(
            "pallet",
            _fixed(0.3 * 0.7, 0.25 * 0.7, 0.25 * 0.7 - 0.14),
            None,
            PROFILE_SQUARE_LIKE,
            from_template=False,
            fixed=True,
        ),
        ObjectSpec(
            "frame",
            _fixed(0.225, 0.225, 0),
            None,
            PROFILE_SQUARE_LIKE,
            novel_name=("zone",),
            from_template=False,
            fixed=True,
        ),
        ObjectSpec(
            "container",
            SizeRange((0.15, 0.15, 0.05), (0.17, 0.17, 0.05)),
            None,
            PROFILE_SQUARE_LIKE,
            fixed=True,
        ),
        ObjectSpec("square", _fixed(0.2, 0.04, 0.001), None, PROFILE_SQUARE_LIKE, fixed=True),
        ObjectSpec("letter A", _kit(1.8), 2 * _PI),
        ObjectSpec("letter E", _kit(1.8), 2 * _PI),
        ObjectSpec("letter G", _kit(1.8), 2 * _PI),
        ObjectSpec("letter M", _kit(1.7), 2 * _PI),
        ObjectSpec("letter R", _kit(1.8), 2 * _PI),
        ObjectSpec("letter T", _kit(1.8), 2 * _PI),
        ObjectSpec("letter V", _kit(1.8), 2 * _PI),
        ObjectSpec("cross", _kit(1.6), _PI),
        ObjectSpec("diamond", _kit(1.6), _PI),
        ObjectSpec("triangle", _kit(1.6), 2 / 3 * _PI),
        ObjectSpec("flower", _kit(1.8), _PI / 2),
        ObjectSpec("heart", _kit(1.8), 2 * _PI),
        ObjectSpec("hexagon", SizeRange(_kit(1.6).low, _kit(1.8).low), 2 / 6 * _PI),
        ObjectSpec("pentagon", SizeRange(_kit(1.6).low, _kit(1.8).low), 2 / 5 * _PI),
        ObjectSpec("L-shaped block", _kit(1.6), 2 * _PI, alias=("L-shape",)),
        ObjectSpec("ring", _kit(1.6), 0, PROFILE_CIRCLE_LIKE),
        ObjectSpec("round", _kit(1.6), None, PROFILE_CIRCLE_LIKE),
        ObjectSpec("star", SizeRange(_kit(1.6).low, _kit(1.8).low), 2 * _PI / 5),
        ObjectSpec("pan", _fixed(0.16, 0.24, 0.03), 0, PROFILE_CIRCLE_LIKE, fixed=True),
        # The sweep tasks' objects: small swept blocks, the U-shaped target zone, the constraint line.
        ObjectSpec("small block", _fixed(0.03, 0.03, 0.03), None),
        ObjectSpec("three-sided rectangle", _fixed(0.2, 0.2, 0.0), None, fixed=True),
        ObjectSpec("line", _fixed(0.25, 0.04, 0.001), None, fixed=True),
    ]
}

#: Objects with no rotational symmetry (VIMA's ``all_entries_no_rotational_symmetry``).
ASYMMETRIC_OBJECTS = [
    name for name, s in OBJECTS.items() if s.symmetry is not None and math.isclose(s.symmetry, 2 * _PI)
]
#: Drawn but never colliding (VIMA's URDFs have no collision shape): the sweep zone and line.
VISUAL_ONLY = ("three-sided rectangle", "line")


@dataclass(frozen=True)
class TextureSpec:
    """One entry of VIMA's texture encyclopedia: a plain colour or a (procedural) image."""

    name: str
    color_value: tuple[float, float, float] | None = None
    alias: tuple[str, ...] | None = field(default=None)
    novel_name: tuple[str, ...] | None = field(default=None)

    @property
    def texture_asset(self) -> str | None:
        return None if self.color_value is not None else "procedural:" + self.name.replace(" ", "_")

    def info(self) -> dict[str, Any]:
        return {
            "texture_name": self.name,
            "texture_color_value": list(self.color_value) if self.color_value is not None else None,
            "texture_texture_asset": self.texture_asset,
            "texture_alias": list(self.alias) if self.alias else None,
            "texture_novel_name": list(self.novel_name) if self.novel_name else None,
        }


#: The 9 base colours (RGB 0-255), VIMA's values.
BASE_COLORS: dict[str, tuple[int, int, int]] = {
    "blue": (78, 121, 167),
    "red": (255, 87, 89),
    "green": (89, 169, 79),
    "orange": (242, 142, 43),
    "yellow": (237, 201, 72),
    "purple": (176, 122, 161),
    "pink": (255, 157, 167),
    "cyan": (118, 183, 178),
    "olive": (128, 128, 0),
}
#: The neutral grey VIMA uses for novel-word definition images.
NEUTRAL_GRAY = TextureSpec("gray", (186 / 255, 176 / 255, 172 / 255))


def darker(rgb: tuple[float, float, float], offset: float = 0.3) -> tuple[float, float, float]:
    """VIMA's dark variant: HSV value lowered by ``offset`` (floored at 0)."""
    h, s, v = colorsys.rgb_to_hsv(*rgb)
    return colorsys.hsv_to_rgb(h, s, max(0.0, v - offset))


def _build_textures() -> list[TextureSpec]:
    """All 82 entries in VIMA's enum order (the order matters: default splits take halves of it)."""
    out = [
        TextureSpec(n)
        for n in (
            "brick",
            "tiles",
            "wooden",
            "granite",
            "plastic",
            "polka dot",
            "checkerboard",
            "tiger",
            "magma",
            "rainbow",
        )
    ]
    pairs = [
        ("red", "yellow"),
        ("red", "green"),
        ("red", "blue"),
        ("red", "purple"),
        ("yellow", "green"),
        ("yellow", "blue"),
        ("yellow", "purple"),
        ("green", "blue"),
        ("green", "purple"),
        ("blue", "purple"),
    ]
    for kind in ("stripe", "polka dot"):
        for c1, c2 in pairs:
            out += [TextureSpec(f"{c1} and {c2} {kind}"), TextureSpec(f"dark {c1} and {c2} {kind}")]
    five = ("red", "yellow", "green", "blue", "purple")
    for c in five:
        out += [TextureSpec(f"{c} swirl"), TextureSpec(f"dark {c} swirl")]
    out += [TextureSpec(f"{c} paisley") for c in five]
    rgb = {n: (r / 255.0, g / 255.0, b / 255.0) for n, (r, g, b) in BASE_COLORS.items()}
    out += [TextureSpec(n, v) for n, v in rgb.items()]
    out += [TextureSpec(f"dark {n}", darker(v)) for n, v in rgb.items() if n != "olive"]
    return out


TEXTURES: dict[str, TextureSpec] = {t.name: t for t in _build_textures()}
#: VIMA's ``TexturePedia.all_entries()``: every texture without "dark" in its name, in enum order.
LIGHT_TEXTURES = [n for n in TEXTURES if "dark" not in n]
#: Default dragged / base texture pools: the first and second half of ``LIGHT_TEXTURES`` (VIMA's default).
DEFAULT_DRAGGED_TEXTURES = LIGHT_TEXTURES[: len(LIGHT_TEXTURES) // 2]
DEFAULT_BASE_TEXTURES = LIGHT_TEXTURES[len(LIGHT_TEXTURES) // 2 :]


def lookup_object(name: str) -> ObjectSpec:
    if name not in OBJECTS:
        raise ValueError(f"unknown object {name!r}; known: {', '.join(OBJECTS)}")
    return OBJECTS[name]


def lookup_texture(name: str) -> TextureSpec:
    if name not in TEXTURES:
        raise ValueError(f"unknown texture {name!r}; known: {', '.join(TEXTURES)}")
    return TEXTURES[name]
