"""Primitive stand-ins for ProcTHOR objects: a few boxes, cylinders and spheres per type.

Without Unity's meshes an object would be a plain box of its asset's bounding box; a table as a top
on four legs, a sofa with a back and arms or a plant as foliage over a pot make the types
recognisable in first-person frames. Every part stays inside the bounding box, so the collision box
(what the agent bumps into) always contains what the camera sees.

Parts are given in the asset's own axes with the origin at the bounding-box centre: ``x`` across the
front, ``y`` up, ``z`` towards the front (ProcTHOR assets face their local +z).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

#: base colour (RGB in [0, 1]) of each object type; assets vary it slightly
TYPE_COLOURS: dict[str, tuple[float, float, float]] = {
    "AlarmClock": (0.85, 0.2, 0.2),
    "Apple": (0.8, 0.08, 0.08),
    "ArmChair": (0.35, 0.45, 0.6),
    "BaseballBat": (0.75, 0.55, 0.3),
    "BasketBall": (0.9, 0.45, 0.1),
    "Bed": (0.45, 0.3, 0.2),
    "Bowl": (0.9, 0.85, 0.7),
    "Chair": (0.55, 0.35, 0.2),
    "CoffeeTable": (0.5, 0.32, 0.18),
    "CounterTop": (0.75, 0.72, 0.68),
    "Desk": (0.6, 0.45, 0.3),
    "DiningTable": (0.45, 0.28, 0.15),
    "Dresser": (0.55, 0.4, 0.28),
    "FloorLamp": (0.95, 0.9, 0.7),
    "Fridge": (0.88, 0.9, 0.92),
    "GarbageCan": (0.3, 0.33, 0.35),
    "HousePlant": (0.2, 0.55, 0.2),
    "Laptop": (0.7, 0.72, 0.75),
    "Mug": (0.2, 0.45, 0.8),
    "ShelvingUnit": (0.6, 0.5, 0.38),
    "SideTable": (0.55, 0.38, 0.22),
    "Sofa": (0.3, 0.5, 0.45),
    "SprayBottle": (0.2, 0.7, 0.8),
    "Stool": (0.5, 0.35, 0.25),
    "TVStand": (0.3, 0.25, 0.22),
    "Television": (0.12, 0.12, 0.14),
    "Toilet": (0.95, 0.95, 0.95),
    "Vase": (0.55, 0.3, 0.6),
}
_WHITE = (0.93, 0.93, 0.9)
_DARK = (0.05, 0.05, 0.07)
_WOOD = (0.45, 0.3, 0.18)
_POT = (0.7, 0.35, 0.2)


@dataclass(frozen=True)
class Part:
    """One primitive: ``kind`` box / cylinder / sphere / ellipsoid / capsule, centre in asset axes,
    ``half`` its half sizes along (x, y, z) (cylinders and capsules: (radius, half length, radius)
    whatever ``axis``, the asset axis they run along), and its colour."""

    kind: str
    centre: tuple[float, float, float]
    half: tuple[float, float, float]
    rgb: tuple[float, float, float]
    axis: str = "y"


def _box(x0: float, x1: float, y0: float, y1: float, z0: float, z1: float, rgb: tuple[float, ...]) -> Part:
    return Part(
        "box",
        ((x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2),
        ((x1 - x0) / 2, (y1 - y0) / 2, (z1 - z0) / 2),
        (rgb[0], rgb[1], rgb[2]),
    )


def _cyl(
    x: float, z: float, radius: float, y0: float, y1: float, rgb: tuple[float, ...], kind: str = "cylinder"
) -> Part:
    return Part(kind, (x, (y0 + y1) / 2, z), (radius, (y1 - y0) / 2, radius), (rgb[0], rgb[1], rgb[2]))


def _shade(rgb: tuple[float, ...], factor: float) -> tuple[float, float, float]:
    return (min(rgb[0] * factor, 1.0), min(rgb[1] * factor, 1.0), min(rgb[2] * factor, 1.0))


def asset_colour(object_type: str, asset_id: str) -> tuple[float, float, float]:
    """The type's colour, varied by a few percent per asset (deterministic)."""
    base = np.array(TYPE_COLOURS.get(object_type, (0.6, 0.6, 0.6)))
    jitter = np.frombuffer(hashlib.sha256(asset_id.encode()).digest()[:3], dtype=np.uint8) / 255.0 - 0.5
    out = np.clip(base * (1.0 + 0.25 * jitter), 0.0, 1.0)
    return float(out[0]), float(out[1]), float(out[2])


def _legs(hx: float, hz: float, y0: float, y1: float, side: float, rgb: tuple[float, ...]) -> list[Part]:
    inset = side / 2 + 0.01
    return [
        _box(
            sx * (hx - inset) - side / 2,
            sx * (hx - inset) + side / 2,
            y0,
            y1,
            sz * (hz - inset) - side / 2,
            sz * (hz - inset) + side / 2,
            rgb,
        )
        for sx in (-1, 1)
        for sz in (-1, 1)
    ]


def object_parts(object_type: str, asset_id: str, size: tuple[float, float, float]) -> list[Part]:
    """Primitives for one object of ``object_type`` with bounding box ``size`` (x, y, z) in metres."""
    hx, hy, hz = size[0] / 2, size[1] / 2, size[2] / 2
    c = asset_colour(object_type, asset_id)
    bottom, top = -hy, hy
    r = min(hx, hz)
    if object_type in ("DiningTable", "CoffeeTable", "SideTable", "Desk"):
        slab = min(0.05, 0.2 * size[1])
        parts = [_box(-hx, hx, top - slab, top, -hz, hz, c)]
        return parts + _legs(hx, hz, bottom, top - slab, min(0.06, 0.2 * r), _shade(c, 0.7))
    if object_type in ("Chair", "Stool"):
        seat_y = bottom + (min(0.47, 0.5 * size[1]) if object_type == "Chair" else size[1] - 0.04)
        parts = [_box(-hx, hx, seat_y - 0.04, seat_y, -hz, hz, c)]
        parts += _legs(hx, hz, bottom, seat_y - 0.04, min(0.045, 0.25 * r), _shade(c, 0.7))
        if object_type == "Chair":
            parts.append(_box(-hx, hx, seat_y, top, -hz, -hz + min(0.06, 0.2 * size[2]), _shade(c, 0.85)))
        return parts
    if object_type in ("Sofa", "ArmChair"):
        seat_y = bottom + 0.5 * size[1]
        back = 0.25 * size[2]
        arm = min(0.18, 0.15 * size[0])
        return [
            _box(-hx, hx, bottom, seat_y, -hz, hz, _shade(c, 0.85)),
            _box(-hx, hx, seat_y, top, -hz, -hz + back, c),
            _box(-hx, -hx + arm, seat_y, seat_y + 0.45 * (top - seat_y), -hz + back, hz, c),
            _box(hx - arm, hx, seat_y, seat_y + 0.45 * (top - seat_y), -hz + back, hz, c),
        ]
    if object_type == "Bed":
        frame_y = bottom + 0.3 * size[1]
        mattress_y = bottom + 0.55 * size[1]
        head = min(0.08, 0.05 * size[2])
        return [
            _box(-hx, hx, bottom, frame_y, -hz, hz, c),
            _box(-hx + 0.02, hx - 0.02, frame_y, mattress_y, -hz + head, hz - 0.02, _WHITE),
            _box(-hx, hx, bottom, top, -hz, -hz + head, _shade(c, 0.8)),
            _box(
                -hx + 0.1,
                hx - 0.1,
                mattress_y,
                min(top, mattress_y + 0.12),
                -hz + head,
                -hz + head + 0.35,
                _shade(_WHITE, 0.92),
            ),
        ]
    if object_type in ("Dresser", "TVStand", "CounterTop"):
        plinth = 0.06
        counter = 0.04 if object_type == "CounterTop" else 0.0  # a stone top over the cabinets
        body = [
            _box(-hx, hx, bottom + plinth, top - counter, -hz, hz - 0.01, c),
            _box(-hx + 0.03, hx - 0.03, bottom, bottom + plinth, -hz, hz - 0.04, _shade(c, 0.5)),
        ]
        rows = 3 if object_type == "Dresser" else 2
        span = (top - bottom - plinth - 0.05) / rows
        for k in range(rows):
            y0 = bottom + plinth + 0.02 + k * span
            body.append(_box(-hx + 0.03, hx - 0.03, y0, y0 + span - 0.03, hz - 0.01, hz, _shade(c, 1.15)))
        if counter:
            body.append(_box(-hx, hx, top - counter, top, -hz, hz, (0.85, 0.85, 0.82)))
        return body
    if object_type == "ShelvingUnit":
        board = 0.03
        parts = [
            _box(-hx, -hx + board, bottom, top, -hz, hz, c),
            _box(hx - board, hx, bottom, top, -hz, hz, c),
            _box(-hx, hx, bottom, top, -hz, -hz + board, _shade(c, 0.8)),
        ]
        shelves = max(2, int(size[1] / 0.4))
        for k in range(shelves + 1):
            y = bottom + k * (size[1] - board) / shelves
            parts.append(_box(-hx, hx, y, y + board, -hz, hz, c))
        return parts
    if object_type == "Fridge":
        return [
            _box(-hx, hx, bottom, top, -hz, hz - 0.02, c),
            _box(
                -hx + 0.01, hx - 0.01, bottom + 0.05, bottom + 0.62 * size[1], hz - 0.02, hz, _shade(c, 0.95)
            ),
            _box(-hx + 0.01, hx - 0.01, bottom + 0.64 * size[1], top - 0.02, hz - 0.02, hz, _shade(c, 0.95)),
            _box(hx - 0.12, hx - 0.09, bottom + 0.4 * size[1], bottom + 0.55 * size[1], hz - 0.02, hz, _DARK),
        ]
    if object_type == "Toilet":
        tank = 0.3 * size[2]
        return [
            _box(-hx, hx, bottom + 0.45 * size[1], top, -hz, -hz + tank, c),
            _box(-0.5 * hx, 0.5 * hx, bottom, bottom + 0.4 * size[1], -hz + tank, 0.4 * hz, _shade(c, 0.95)),
            Part(
                "ellipsoid",
                (0.0, bottom + 0.42 * size[1], 0.2 * hz),
                (0.9 * hx, 0.12 * size[1], 0.75 * hz),
                c,
            ),
        ]
    if object_type == "GarbageCan":
        return [_cyl(0, 0, r, bottom, top - 0.02, c), _cyl(0, 0, r * 0.97, top - 0.02, top, _shade(c, 0.6))]
    if object_type == "FloorLamp":
        return [
            _cyl(0, 0, 0.8 * r, bottom, bottom + 0.03, _DARK),
            _cyl(0, 0, 0.02, bottom, top - 0.25 * size[1], _DARK),
            _cyl(0, 0, r, top - 0.28 * size[1], top, c),
        ]
    if object_type == "HousePlant":
        pot_top = bottom + 0.35 * size[1]
        return [
            _cyl(0, 0, 0.6 * r, bottom, pot_top, _POT),
            Part("ellipsoid", (0.0, (pot_top + top) / 2, 0.0), (hx, (top - pot_top) / 2 + 0.02, hz), c),
        ]
    if object_type == "Television":
        panel = min(0.06, size[2])
        foot_y = bottom + min(0.05, 0.1 * size[1])
        return [
            _box(-0.3 * hx, 0.3 * hx, bottom, foot_y, -hz, hz, _DARK),
            _box(-0.06, 0.06, foot_y, bottom + 0.2 * size[1], -panel / 2, panel / 2, _DARK),
            _box(-hx, hx, bottom + 0.15 * size[1], top, -panel / 2, panel / 2 - 0.005, c),
            _box(
                -hx + 0.03,
                hx - 0.03,
                bottom + 0.18 * size[1],
                top - 0.03,
                panel / 2 - 0.005,
                panel / 2,
                (0.05, 0.08, 0.14),
            ),
        ]
    if object_type == "Laptop":
        base = min(0.025, 0.15 * size[1])
        return [
            _box(-hx, hx, bottom, bottom + base, -hz, hz, c),
            _box(-hx, hx, bottom + base, top, -hz, -hz + 0.015, _shade(c, 0.8)),
            _box(-hx + 0.02, hx - 0.02, bottom + base + 0.02, top - 0.02, -hz + 0.015, -hz + 0.02, _DARK),
        ]
    if object_type in ("Apple", "BasketBall"):
        radius = min(hx, hy, hz)
        parts = [Part("sphere", (0.0, bottom + radius, 0.0), (radius, radius, radius), c)]
        if object_type == "Apple":
            parts.append(_cyl(0, 0, 0.006, bottom + 2 * radius - 0.01, top, (0.35, 0.2, 0.05)))
        return parts
    if object_type == "Bowl":
        return [
            _cyl(0, 0, 0.6 * r, bottom, bottom + 0.35 * size[1], c),
            _cyl(0, 0, r, bottom + 0.35 * size[1], top, c),
        ]
    if object_type == "Mug":
        cup = 0.7 * r
        return [
            _cyl(-hx + cup, 0, cup, bottom, top, c),
            _box(-hx + 2 * cup, hx, bottom + 0.3 * size[1], top - 0.25 * size[1], -0.01, 0.01, c),
        ]
    if object_type == "Vase":
        return [
            Part("ellipsoid", (0.0, bottom + 0.35 * size[1], 0.0), (hx, 0.35 * size[1], hz), c),
            _cyl(0, 0, 0.45 * r, bottom + 0.6 * size[1], top, c),
        ]
    if object_type == "SprayBottle":
        return [
            _box(-hx, hx, bottom, bottom + 0.65 * size[1], -hz, hz, c),
            _cyl(0, 0, 0.4 * r, bottom + 0.65 * size[1], bottom + 0.8 * size[1], _WHITE),
            _box(-min(hx, 0.02), min(hx, 0.02), bottom + 0.8 * size[1], top, -hz, hz, _WHITE),
        ]
    if object_type == "AlarmClock":
        face = 0.35 * min(size[0], size[1])
        return [
            _box(-hx, hx, bottom, top - 0.3 * size[1], -hz, hz, c),
            Part(
                "cylinder", (0.0, bottom + 0.4 * size[1], hz - 0.005), (face, 0.005, face), _WHITE, axis="z"
            ),
            _cyl(-0.5 * hx, 0, 0.2 * hx, top - 0.3 * size[1], top, c),
            _cyl(0.5 * hx, 0, 0.2 * hx, top - 0.3 * size[1], top, c),
        ]
    if object_type == "BaseballBat":
        handle = 0.25 * r
        return [
            _cyl(0, 0, handle, bottom, bottom + 0.55 * size[1], _shade(c, 0.8)),
            _cyl(0, 0, r, bottom + 0.45 * size[1] + r, top - r, c, kind="capsule"),
        ]
    return [_box(-hx, hx, bottom, top, -hz, hz, c)]
