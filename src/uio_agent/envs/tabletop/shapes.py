"""Procedural geometry for every VIMA object: flat shapes, blocks and bases.

Flat shapes (letters, cross, star, ...) are authored as unions of convex 2-D polygons in a unit
square (u to the right, v up, so a letter reads upright in VIMA's prompt images, which show objects
at yaw π/2). Each convex piece extruded is one collision mesh (MuJoCo collides convex hulls); the
union of the pieces is the visual mesh. Bases are built from boxes (collision) plus a visual mesh
where the boxes would look wrong (bowl, pan).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

Polygon = list[tuple[float, float]]


@dataclass
class Mesh:
    """A triangle mesh with per-vertex texture coordinates (MuJoCo needs one uv per vertex)."""

    vertices: np.ndarray  # (n, 3) float
    faces: np.ndarray  # (m, 3) int
    texcoords: np.ndarray  # (n, 2) float


@dataclass
class BoxPart:
    """A collision (and, unless ``visual`` is False, visible) box: centre, half sizes, yaw."""

    center: tuple[float, float, float]
    half: tuple[float, float, float]
    yaw: float = 0.0
    visual: bool = True


@dataclass
class Geometry:
    """Everything needed to add one object to the model.

    ``hull_pieces``: convex collision meshes; ``boxes``: collision boxes; ``visual``: a visual mesh
    (else the boxes are drawn); ``half_extents``: bounding half sizes of the object; ``rest_z``: the
    body height at which it rests on the table (None: ``half_extents[2]``, the origin is its centre;
    bases have their origin on their bottom).
    """

    half_extents: tuple[float, float, float]
    rest_z: float | None = None
    hull_pieces: list[Mesh] = field(default_factory=list)
    boxes: list[BoxPart] = field(default_factory=list)
    visual: Mesh | None = None


# --------------------------------------------------------------------------- 2-D building blocks


def _rect(u0: float, v0: float, u1: float, v1: float) -> Polygon:
    return [(u0, v0), (u1, v0), (u1, v1), (u0, v1)]


def _stroke(p0: tuple[float, float], p1: tuple[float, float], width: float) -> Polygon:
    """A straight bar of ``width`` from p0 to p1 (a convex quad, counter-clockwise)."""
    (x0, y0), (x1, y1) = p0, p1
    dx, dy = x1 - x0, y1 - y0
    n = math.hypot(dx, dy)
    nx, ny = -dy / n * width / 2, dx / n * width / 2
    return [(x0 - nx, y0 - ny), (x1 - nx, y1 - ny), (x1 + nx, y1 + ny), (x0 + nx, y0 + ny)]


def _arc(cx: float, cy: float, r0: float, r1: float, a0: float, a1: float, n: int) -> list[Polygon]:
    """An annular sector split into ``n`` convex quads (angles in degrees, counter-clockwise)."""
    out = []
    angles = np.radians(np.linspace(a0, a1, n + 1))
    for t0, t1 in itertools.pairwise(angles):
        out.append(
            [
                (cx + r0 * math.cos(t0), cy + r0 * math.sin(t0)),
                (cx + r1 * math.cos(t0), cy + r1 * math.sin(t0)),
                (cx + r1 * math.cos(t1), cy + r1 * math.sin(t1)),
                (cx + r0 * math.cos(t1), cy + r0 * math.sin(t1)),
            ]
        )
    return out


def _regular(n: int, r: float, phase_deg: float = 90.0, cx: float = 0.0, cy: float = 0.0) -> Polygon:
    return [
        (
            cx + r * math.cos(math.radians(phase_deg + 360.0 * k / n)),
            cy + r * math.sin(math.radians(phase_deg + 360.0 * k / n)),
        )
        for k in range(n)
    ]


def _letter_a() -> list[Polygon]:
    w = 0.22
    return [
        _stroke((-0.39, -0.5), (0.0, 0.47), w),
        _stroke((0.39, -0.5), (0.0, 0.47), w),
        _rect(-0.22, -0.17, 0.22, 0.0),
    ]


def _letter_e() -> list[Polygon]:
    return [
        _rect(-0.4, -0.5, -0.14, 0.5),
        _rect(-0.14, 0.3, 0.4, 0.5),
        _rect(-0.14, -0.1, 0.3, 0.1),
        _rect(-0.14, -0.5, 0.4, -0.3),
    ]


def _letter_g() -> list[Polygon]:
    return [*_arc(0.0, 0.0, 0.3, 0.5, 35, 360, 11), _rect(0.05, -0.06, 0.5, 0.12)]


def _letter_m() -> list[Polygon]:
    w = 0.2
    return [
        _rect(-0.5, -0.5, -0.3, 0.5),
        _rect(0.3, -0.5, 0.5, 0.5),
        _stroke((-0.42, 0.42), (0.0, -0.15), w),
        _stroke((0.42, 0.42), (0.0, -0.15), w),
    ]


def _letter_r() -> list[Polygon]:
    return [
        _rect(-0.4, -0.5, -0.18, 0.5),
        _rect(-0.18, 0.3, 0.1, 0.5),
        _rect(-0.18, -0.06, 0.1, 0.14),
        *_arc(0.1, 0.22, 0.08, 0.28, -90, 90, 5),
        _stroke((-0.05, -0.02), (0.35, -0.5), 0.22),
    ]


def _letter_t() -> list[Polygon]:
    return [_rect(-0.45, 0.28, 0.45, 0.5), _rect(-0.11, -0.5, 0.11, 0.28)]


def _letter_v() -> list[Polygon]:
    w = 0.23
    return [_stroke((-0.4, 0.5), (0.0, -0.45), w), _stroke((0.4, 0.5), (0.0, -0.45), w)]


def _cross() -> list[Polygon]:
    return [_rect(-0.15, -0.5, 0.15, 0.5), _rect(-0.5, -0.15, -0.15, 0.15), _rect(0.15, -0.15, 0.5, 0.15)]


def _flower() -> list[Polygon]:
    petals = [
        _regular(14, 0.2, 0.0, 0.3 * math.cos(a), 0.3 * math.sin(a)) for a in np.radians([0, 90, 180, 270])
    ]
    return [_regular(8, 0.25, 22.5), *petals]


def _heart() -> list[Polygon]:
    return [
        _regular(16, 0.25, 0.0, -0.23, 0.2),
        _regular(16, 0.25, 0.0, 0.23, 0.2),
        [(-0.47, 0.13), (0.0, -0.5), (0.47, 0.13), (0.0, 0.3)],
    ]


def _star() -> list[Polygon]:
    inner = 0.2
    outer = 0.5
    core = _regular(5, inner, 90.0 + 36.0)
    spikes = []
    for k in range(5):
        tip = _regular(5, outer, 90.0)[k]
        a, b = core[(k - 1) % 5], core[k]
        spikes.append([a, b, tip] if _ccw([a, b, tip]) else [b, a, tip])
    return [core, *spikes]


def _ccw(poly: Polygon) -> bool:
    area = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(poly, poly[1:] + poly[:1], strict=True))
    return area > 0


def _l_block() -> list[Polygon]:
    return [_rect(-0.5, -0.5, -0.15, 0.5), _rect(-0.15, -0.5, 0.5, -0.15)]


#: name -> (convex pieces in the unit square, footprint extent (m) per metre of VIMA's xy size parameter)
FLAT_SHAPES: dict[str, tuple[list[Polygon], float]] = {
    "letter A": (_letter_a(), 0.73),
    "letter E": (_letter_e(), 0.73),
    "letter G": (_letter_g(), 0.73),
    "letter M": (_letter_m(), 0.73),
    "letter R": (_letter_r(), 0.73),
    "letter T": (_letter_t(), 0.73),
    "letter V": (_letter_v(), 0.73),
    "cross": ([*_cross()], 0.85),
    "diamond": ([[(0.0, -0.5), (0.4, 0.0), (0.0, 0.5), (-0.4, 0.0)]], 0.98),
    "triangle": ([_regular(3, 0.5, 90.0, 0.0, -0.1)], 0.9),
    "flower": (_flower(), 0.8),
    "heart": (_heart(), 0.75),
    "hexagon": ([_regular(6, 0.5, 0.0)], 0.75),
    "pentagon": ([_regular(5, 0.5, 90.0)], 0.75),
    "L-shaped block": (_l_block(), 0.78),
    "ring": (_arc(0.0, 0.0, 0.3, 0.5, 0, 360, 16), 0.78),
    "round": ([_regular(24, 0.5)], 0.7),
    "star": (_star(), 0.8),
}


# --------------------------------------------------------------------------- meshes


def _extrude(poly: Polygon, scale: float, half_z: float, span: float) -> Mesh:
    """A prism over ``poly`` (counter-clockwise) with separate top/bottom/side vertices (crisp normals)."""
    pts = np.asarray(poly if _ccw(poly) else poly[::-1], dtype=float) * scale
    n = len(pts)
    top = np.column_stack([pts, np.full(n, half_z)])
    bottom = np.column_stack([pts, np.full(n, -half_z)])
    verts = [top, bottom]
    faces = [[0, k, k + 1] for k in range(1, n - 1)]
    faces += [[n, n + k + 1, n + k] for k in range(1, n - 1)]
    base = 2 * n
    for k in range(n):
        a, b = pts[k], pts[(k + 1) % n]
        verts.append(np.array([[*a, -half_z], [*b, -half_z], [*b, half_z], [*a, half_z]]))
        faces += [[base, base + 1, base + 2], [base, base + 2, base + 3]]
        base += 4
    v = np.concatenate(verts)
    uv = v[:, :2] / span + 0.5
    return Mesh(v, np.asarray(faces, dtype=np.int32), uv)


def merge(meshes: list[Mesh]) -> Mesh:
    offset = 0
    faces = []
    for m in meshes:
        faces.append(m.faces + offset)
        offset += len(m.vertices)
    return Mesh(
        np.concatenate([m.vertices for m in meshes]),
        np.concatenate(faces),
        np.concatenate([m.texcoords for m in meshes]),
    )


def _flat_geometry(name: str, size: tuple[float, float, float]) -> Geometry:
    pieces, factor = FLAT_SHAPES[name]
    scale = size[0] * factor
    half_z = size[2] / 2
    hulls = [_extrude(p, scale, half_z, scale) for p in pieces]
    allpts = np.concatenate([h.vertices for h in hulls])
    lo, hi = allpts.min(axis=0), allpts.max(axis=0)
    center = (lo + hi) / 2
    center[2] = 0.0
    for h in hulls:  # centre the bounding box on the body origin, as VIMA's meshes are
        h.vertices = h.vertices - center
    ext = (hi - lo) / 2
    return Geometry((float(ext[0]), float(ext[1]), half_z), hull_pieces=hulls, visual=merge(hulls))


def _revolve(profile: list[tuple[float, float]], segments: int) -> Mesh:
    """A surface of revolution about z from (radius, z) points (a bowl or pan body)."""
    prof = np.asarray(profile, dtype=float)
    angles = np.linspace(0.0, 2 * math.pi, segments, endpoint=False)
    verts = []
    for a in angles:
        verts.append(np.column_stack([prof[:, 0] * math.cos(a), prof[:, 0] * math.sin(a), prof[:, 1]]))
    v = np.concatenate(verts)
    m = len(prof)
    faces = []
    for s in range(segments):
        t = (s + 1) % segments
        for k in range(m - 1):
            a, b, c, d = s * m + k, t * m + k, t * m + k + 1, s * m + k + 1
            faces += [
                [a, b, c],
                [a, c, d],
                [a, c, b],
                [a, d, c],
            ]  # both sides: thin shells are seen from inside
    rmax = prof[:, 0].max()
    uv = v[:, :2] / (2 * rmax) + 0.5
    return Mesh(v, np.asarray(faces, dtype=np.int32), uv)


def _ring_boxes(radius: float, z0: float, z1: float, thickness: float, n: int) -> list[BoxPart]:
    """Vertical wall segments around a circle (bowl and pan walls, collision only: a revolved mesh is drawn)."""
    half_len = radius * math.tan(math.pi / n) + thickness / 2
    return [
        BoxPart(
            (radius * math.cos(a), radius * math.sin(a), (z0 + z1) / 2),
            (thickness / 2, half_len, (z1 - z0) / 2),
            a,
            visual=False,
        )
        for a in (2 * math.pi * k / n for k in range(n))
    ]


def _bowl() -> Geometry:
    # VIMA's bowl: about 0.21 m across, 0.06 m high (measured), open at the top.
    r_bottom, r_top, h = 0.06, 0.105, 0.06
    profile = [(0.0, 0.002), (r_bottom * 0.6, 0.002), (r_bottom, 0.008), (r_top * 0.9, h * 0.7), (r_top, h)]
    boxes = [BoxPart((0.0, 0.0, 0.003), (r_bottom, r_bottom, 0.003), visual=False)]
    boxes += [BoxPart((0.0, 0.0, 0.003), (r_bottom, r_bottom, 0.003), math.pi / 4, visual=False)]
    boxes += _ring_boxes(r_bottom + (r_top - r_bottom) / 2, 0.0, h, 0.006, 16)
    return Geometry((r_top, r_top, h / 2), boxes=boxes, visual=_revolve(profile, 32), rest_z=0.0)


def _container(side: float, height: float) -> Geometry:
    # Open box: floor and four 2 mm walls, about 0.045 m high (VIMA's template shrinks z by 1.1).
    s, h, t = side / 2, height / 1.1, 0.002
    return Geometry(
        (s, s, h / 2),
        rest_z=0.0,
        boxes=[
            BoxPart((0, 0, t / 2), (s, s, t / 2)),
            BoxPart((s - t / 2, 0, h / 2), (t / 2, s, h / 2)),
            BoxPart((-s + t / 2, 0, h / 2), (t / 2, s, h / 2)),
            BoxPart((0, s - t / 2, h / 2), (s - t, t / 2, h / 2)),
            BoxPart((0, -s + t / 2, h / 2), (s - t, t / 2, h / 2)),
        ],
    )


def _outline(outer: float, bar: float, thick: float) -> Geometry:
    """A flat square outline (frame, square): four bars."""
    s, b = outer / 2, bar / 2
    return Geometry(
        (s, s, thick / 2),
        rest_z=0.0,
        boxes=[
            BoxPart((s - b, 0, thick / 2), (b, s, thick / 2)),
            BoxPart((-s + b, 0, thick / 2), (b, s, thick / 2)),
            BoxPart((0, s - b, thick / 2), (s - bar, b, thick / 2)),
            BoxPart((0, -s + b, thick / 2), (s - bar, b, thick / 2)),
        ],
    )


def _three_sided(dim0: float, dim1: float) -> Geometry:
    """VIMA's three-sided rectangle (a U of 4 cm bars, 1 mm thick): the closed side at local -y."""
    t, bar = 0.0005, 0.02
    return Geometry(
        (dim1 / 2 + bar, dim0 / 2 + bar, t),
        rest_z=0.0,
        boxes=[
            BoxPart((0, -dim0 / 2, t), (dim1 / 2, bar, t)),
            BoxPart((dim1 / 2, 0, t), (bar, dim0 / 2, t)),
            BoxPart((-dim1 / 2, 0, t), (bar, dim0 / 2, t)),
        ],
    )


def _pallet() -> Geometry:
    # Wooden pallet 0.22 x 0.18 x 0.03: top deck of five slats on three runners.
    lx, ly, h = 0.11, 0.09, 0.03
    deck = 0.008
    boxes = [
        BoxPart((0, y, h - deck / 2), (lx, 0.014, deck / 2)) for y in np.linspace(-ly + 0.014, ly - 0.014, 5)
    ]
    boxes += [
        BoxPart((x, 0, (h - deck) / 2), (0.012, ly, (h - deck) / 2)) for x in (-lx + 0.012, 0.0, lx - 0.012)
    ]
    return Geometry((lx, ly, h / 2), boxes=boxes, rest_z=0.0)


def _pan() -> Geometry:
    # Frying pan 0.30 x 0.175 x 0.047: a round shallow body and a handle along +x.
    r_bottom, r_top, h = 0.075, 0.0875, 0.047
    profile = [(0.0, 0.002), (r_bottom, 0.002), (r_bottom + 0.004, 0.01), (r_top, h)]
    boxes = [
        BoxPart((0.0, 0.0, 0.003), (r_bottom, r_bottom, 0.003), visual=False),
        BoxPart((0.0, 0.0, 0.003), (r_bottom, r_bottom, 0.003), math.pi / 4, visual=False),
    ]
    boxes += _ring_boxes((r_bottom + r_top) / 2, 0.0, h, 0.005, 16)
    handle_len = 0.30 - 2 * r_top
    handle = BoxPart((r_top + handle_len / 2 - 0.005, 0.0, h * 0.8), (handle_len / 2, 0.012, 0.006))
    visual = merge([_revolve(profile, 32), _box_mesh(handle)])
    return Geometry((0.15, r_top, h / 2), boxes=[*boxes, handle], visual=visual, rest_z=0.0)


def _box_mesh(b: BoxPart) -> Mesh:
    hx, hy, hz = b.half
    poly = [(-hx, -hy), (hx, -hy), (hx, hy), (-hx, hy)]
    c, s = math.cos(b.yaw), math.sin(b.yaw)
    rot = [(b.center[0] + c * x - s * y, b.center[1] + s * x + c * y) for x, y in poly]
    m = _extrude(rot, 1.0, hz, 2 * max(hx, hy))
    m.vertices[:, 2] += b.center[2]
    return m


def build_geometry(name: str, size: tuple[float, float, float]) -> Geometry:
    """Geometry of object ``name`` for VIMA's sampled size parameters ``size`` (x, y, z)."""
    if name in FLAT_SHAPES:
        return _flat_geometry(name, size)
    if name in ("block", "shorter block", "small block"):
        hx, hy, hz = size[0] / 2, size[1] / 2, size[2] / 2
        return Geometry((hx, hy, hz), boxes=[BoxPart((0, 0, 0), (hx, hy, hz))])
    if name == "bowl":
        return _bowl()
    if name == "container":
        return _container(size[0], size[2])
    if name == "frame":
        return _outline(0.18, 0.009, 0.0015)
    if name == "square":
        return _outline(0.24, 0.04, 0.001)
    if name == "pallet":
        return _pallet()
    if name == "three-sided rectangle":
        return _three_sided(size[0], size[1])
    if name == "line":
        return Geometry(
            (size[0] / 2, size[1] / 2, 0.0005),
            rest_z=0.0,
            boxes=[BoxPart((0, 0, 0.0005), (size[0] / 2, size[1] / 2, 0.0005))],
        )
    if name == "pan":
        return _pan()
    raise ValueError(f"no procedural geometry for object {name!r}")
