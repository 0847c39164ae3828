"""Seeded procedural houses in the ProcTHOR house-JSON schema, validated for navigation.

The stages follow ProcTHOR's generator (``procthor/generation``): a room spec drawn with the
ProcTHOR-10K weights, an interior boundary with corner cuts, a floorplan grown from seeds as
rectangles then L-shapes (best of 100 candidates by area-ratio overlap), cells scaled by
U(1.6, 2.2) m, ceiling height 2.5 + Beta(1.25, 5.5)·4.5 m, doors between neighbouring rooms
(bathrooms keep a single door), furniture and small objects with real ProcTHOR asset ids
(:mod:`.furnish`), and the agent start at the most open spot of a random room on the 0.25 m grid.
ProcTHOR validates with a Unity controller; here validation is the schema check plus geometry
(:func:`validate_house`).

The generator works in the JSON's own frame, Unity's; whatever reads the house back for simulation
goes through :func:`layout.parse_house`, which converts to ours (z negated).
"""

from __future__ import annotations

import gzip
import json
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from uio_agent.envs.nav._procthor_assets import DOOR_HOLES, FLOOR_MATERIALS, WALL_MATERIALS
from uio_agent.envs.nav.furnish import RoomFurnisher, house_bias
from uio_agent.envs.nav.geometry import FreeSpace, point_in_polygon
from uio_agent.envs.nav.layout import HouseLayout, parse_house
from uio_agent.envs.nav.schema import ROOM_TYPES, SCHEMA_VERSION, check_house_schema
from uio_agent.envs.nav.thor import ours_to_unity, unity_to_ours

EMPTY, OUTDOOR = 0, 1
#: door clearance kept free of furniture on both sides of a door (metres)
DOOR_CLEARANCE = 1.0
#: distance kept between a door hole and the end of its wall (metres)
DOOR_MARGIN = 0.25
_WIDEST_DOOR = max(width for width, _ in DOOR_HOLES.values())


class HouseGenerationError(RuntimeError):
    """No valid house could be generated for a seed within the attempt budget."""


class HouseValidationError(ValueError):
    """A house fails a navigation requirement (connected free space, passable doors, start pose)."""


# -- room specs (ProcTHOR-10K sampler, procthor/generation/room_specs.py) ------------------------------
@dataclass(frozen=True)
class LeafRoom:
    room_id: int
    ratio: int
    room_type: str
    avoid_doors_from_metarooms: bool = False


@dataclass(frozen=True)
class MetaRoom:
    ratio: int
    children: tuple[LeafRoom | MetaRoom, ...]


@dataclass(frozen=True)
class RoomSpec:
    room_spec_id: str
    sampling_weight: float
    spec: tuple[LeafRoom | MetaRoom, ...]
    #: ((x_lo, x_hi), (z_lo, z_hi)) inclusive grid-size ranges, or None for the area-based rule
    dims: tuple[tuple[int, int], tuple[int, int]] | None = None

    def leaves(self) -> list[LeafRoom]:
        out: list[LeafRoom] = []
        stack: list[LeafRoom | MetaRoom] = list(self.spec)
        while stack:
            node = stack.pop(0)
            if isinstance(node, LeafRoom):
                out.append(node)
            else:
                stack = list(node.children) + stack
        return out


def _bath(room_id: int, ratio: int) -> LeafRoom:
    return LeafRoom(room_id, ratio, "Bathroom", avoid_doors_from_metarooms=True)


ROOM_SPECS: tuple[RoomSpec, ...] = (
    RoomSpec(
        "8-room-3-bed",
        1,
        (
            MetaRoom(
                4,
                (
                    MetaRoom(2, (LeafRoom(2, 3, "Kitchen"), LeafRoom(3, 3, "LivingRoom"))),
                    MetaRoom(1, (LeafRoom(4, 2, "LivingRoom"), _bath(5, 1))),
                ),
            ),
            MetaRoom(1, (LeafRoom(6, 1, "Bedroom"),)),
            MetaRoom(1, (LeafRoom(7, 1, "Bedroom"),)),
            MetaRoom(2, (LeafRoom(8, 1, "Bedroom"), _bath(9, 1))),
        ),
        dims=((13, 16), (5, 8)),
    ),
    RoomSpec(
        "7-room-3-bed",
        1,
        (
            MetaRoom(
                3,
                (
                    MetaRoom(2, (LeafRoom(2, 3, "Kitchen"), LeafRoom(3, 3, "LivingRoom"))),
                    MetaRoom(1, (LeafRoom(4, 2, "LivingRoom"), _bath(5, 1))),
                ),
            ),
            MetaRoom(2, (LeafRoom(6, 2, "Bedroom"), LeafRoom(7, 2, "Bedroom"), LeafRoom(8, 2, "Bedroom"))),
        ),
    ),
    RoomSpec(
        "12-room-3-bed",
        1,
        (
            MetaRoom(
                1,
                (
                    MetaRoom(1, (LeafRoom(2, 3, "Kitchen"), LeafRoom(3, 3, "LivingRoom"))),
                    MetaRoom(1, (LeafRoom(4, 1, "LivingRoom"), LeafRoom(5, 1, "LivingRoom"))),
                ),
            ),
            MetaRoom(
                1,
                (
                    MetaRoom(1, (LeafRoom(6, 2, "Bedroom"), _bath(7, 1))),
                    MetaRoom(1, (LeafRoom(8, 2, "Bedroom"), _bath(9, 1))),
                    MetaRoom(1, (LeafRoom(10, 2, "Bedroom"), _bath(11, 1))),
                ),
            ),
        ),
    ),
    RoomSpec(
        "12-room",
        1,
        (
            MetaRoom(
                2,
                (
                    MetaRoom(1, (LeafRoom(2, 3, "Kitchen"), LeafRoom(3, 3, "LivingRoom"))),
                    MetaRoom(1, (LeafRoom(4, 2, "Bedroom"), _bath(5, 1))),
                ),
            ),
            MetaRoom(
                3,
                (
                    MetaRoom(1, (LeafRoom(6, 2, "Bedroom"), _bath(7, 1))),
                    MetaRoom(1, (LeafRoom(8, 2, "Bedroom"), _bath(9, 1))),
                    MetaRoom(1, (LeafRoom(10, 2, "Bedroom"), _bath(11, 1))),
                ),
            ),
        ),
    ),
    RoomSpec(
        "4-room",
        5,
        (
            MetaRoom(2, (LeafRoom(4, 2, "Bedroom"), _bath(5, 1))),
            MetaRoom(2, (LeafRoom(6, 3, "Kitchen"), LeafRoom(7, 2, "LivingRoom"))),
        ),
    ),
    RoomSpec(
        "2-bed-1-bath",
        1,
        (
            MetaRoom(2, (LeafRoom(2, 3, "Kitchen"), _bath(3, 2), LeafRoom(4, 3, "LivingRoom"))),
            LeafRoom(5, 1, "Bedroom"),
            LeafRoom(6, 1, "Bedroom"),
        ),
    ),
    RoomSpec(
        "5-room",
        1,
        (
            MetaRoom(2, (LeafRoom(4, 2, "Bedroom"), _bath(5, 1))),
            LeafRoom(6, 2, "Bedroom"),
            MetaRoom(2, (LeafRoom(8, 3, "Kitchen"), LeafRoom(9, 2, "LivingRoom"))),
        ),
    ),
    RoomSpec(
        "2-bed-2-bath",
        1,
        (
            MetaRoom(2, (LeafRoom(4, 2, "Bedroom"), _bath(5, 1))),
            MetaRoom(2, (LeafRoom(6, 2, "Bedroom"), _bath(7, 1))),
            MetaRoom(2, (LeafRoom(8, 3, "Kitchen"), LeafRoom(9, 2, "LivingRoom"))),
        ),
    ),
    RoomSpec("bedroom-bathroom", 2, (LeafRoom(2, 2, "Bedroom"), LeafRoom(3, 1, "Bathroom"))),
    RoomSpec(
        "kitchen-living-bedroom-room",
        1,
        (MetaRoom(2, (LeafRoom(6, 3, "Kitchen"), LeafRoom(7, 2, "LivingRoom"))), LeafRoom(2, 1, "Bedroom")),
    ),
    RoomSpec(
        "kitchen-living-bedroom-room2",
        1,
        (MetaRoom(2, (LeafRoom(6, 1, "Kitchen"), LeafRoom(7, 1, "LivingRoom"))), LeafRoom(2, 1, "Bedroom")),
    ),
    RoomSpec("kitchen-living-room", 2, (LeafRoom(2, 1, "Kitchen"), LeafRoom(3, 1, "LivingRoom"))),
    RoomSpec("kitchen", 1, (LeafRoom(2, 1, "Kitchen"),)),
    RoomSpec("living-room", 1, (LeafRoom(2, 1, "LivingRoom"),)),
    RoomSpec("bedroom", 1, (LeafRoom(2, 1, "Bedroom"),)),
    RoomSpec("bathroom", 1, (LeafRoom(2, 1, "Bathroom"),)),
)
ROOM_SPEC_IDS = tuple(spec.room_spec_id for spec in ROOM_SPECS)


@dataclass(frozen=True)
class HouseConfig:
    """Generator settings; defaults are ProcTHOR's published values."""

    #: restrict the room-spec draw to these ids (ProcTHOR-10K weights among them); None = all
    room_spec_ids: tuple[str, ...] | None = None
    candidate_generations: int = 100
    cell_size_range: tuple[float, float] = (1.6, 2.2)
    #: agent body that every valid house must admit (the largest of the embodiment presets)
    agent_radius: float = 0.18
    agent_height: float = 1.5
    #: asset split used for objects: "train", "val" or "test" (ProcTHOR asset splits)
    asset_split: str = "train"
    max_attempts: int = 20
    grid_cell: float = 0.05

    def __post_init__(self) -> None:
        if self.room_spec_ids is not None:
            unknown = [s for s in self.room_spec_ids if s not in ROOM_SPEC_IDS]
            if unknown or not self.room_spec_ids:
                raise ValueError(f"unknown room_spec_ids {unknown}; choose from {list(ROOM_SPEC_IDS)}")
        if self.candidate_generations < 1 or self.max_attempts < 1:
            raise ValueError("candidate_generations and max_attempts must be >= 1")
        lo, hi = self.cell_size_range
        if not 1.2 <= lo <= hi:
            raise ValueError(
                f"cell_size_range {self.cell_size_range} must satisfy 1.2 <= lo <= hi metres "
                "(a grid cell must hold a door of ~1.1 m)"
            )
        if self.asset_split not in ("train", "val", "test"):
            raise ValueError(f"asset_split must be 'train', 'val' or 'test', got {self.asset_split!r}")


class _InvalidCandidate(Exception):
    pass


@dataclass
class _Grown:
    room_id: int
    ratio: int
    bbox: list[int] = field(default_factory=lambda: [0, 0, 0, 0])  # r0, c0, r1, c1 (exclusive)


# -- interior boundary and floorplan ---------------------------------------------------------------
def sample_interior_boundary(rng: np.random.Generator, num_rooms: int, dims: Any = None) -> np.ndarray:
    """Grid of EMPTY cells with OUTDOOR corner cuts (``interior_boundaries.py``)."""
    if dims is None:
        lo = max(2, int(math.sqrt(num_rooms) * 3 - 1))
        hi = int(math.sqrt(num_rooms) * 3 + 1)
        x_size, z_size = (int(v) for v in rng.integers(lo, hi + 1, size=2))
    else:
        (xl, xh), (zl, zh) = dims
        x_size, z_size = int(rng.integers(xl, xh + 1)), int(rng.integers(zl, zh + 1))
    boundary = np.full((z_size, x_size), EMPTY, dtype=np.int64)
    n_cuts = round(float(rng.beta(0.5 * num_rooms, 6)) * 10)
    for side in rng.integers(0, 4, size=n_cuts):
        x_cut = int(rng.integers(1, max(2, min(x_size - 1, 6 // 2))))
        z_options = [i for i in range(1, z_size) if x_cut * i <= 6]
        if not z_options:
            continue
        z_cut = int(rng.choice(z_options))
        rows = slice(0, z_cut) if side in (0, 1) else slice(z_size - z_cut, z_size)
        cols = slice(x_size - x_cut, x_size) if side in (0, 3) else slice(0, x_cut)
        boundary[rows, cols] = OUTDOOR
    return boundary


def _select(rng: np.random.Generator, rooms: list[_Grown]) -> _Grown:
    weights = np.array([r.ratio for r in rooms], dtype=np.float64)
    return rooms[int(rng.choice(len(rooms), p=weights / weights.sum()))]


def _grow(rng: np.random.Generator, room: _Grown, plan: np.ndarray, rect: bool) -> bool:
    """One GrowRect (full empty line) or GrowLShape (empty cells touching the room) step."""
    r0, c0, r1, c1 = room.bbox
    if rect and (r1 - r0) * (c1 - c0) > room.ratio * 4:
        return False
    rid = room.room_id
    lines: dict[str, list[tuple[int, int]]] = {}
    rows_, cols_ = plan.shape
    sides = {
        "right": (c1 < cols_, [(r, c1) for r in range(r0, r1)], [(r, c1 - 1) for r in range(r0, r1)]),
        "left": (c0 > 0, [(r, c0 - 1) for r in range(r0, r1)], [(r, c0) for r in range(r0, r1)]),
        "down": (r1 < rows_, [(r1, c) for c in range(c0, c1)], [(r1 - 1, c) for c in range(c0, c1)]),
        "up": (r0 > 0, [(r0 - 1, c) for c in range(c0, c1)], [(r0, c) for c in range(c0, c1)]),
    }
    for name, (ok, outer, inner) in sides.items():
        if not ok:
            lines[name] = []
        elif rect:
            lines[name] = outer if all(plan[p] == EMPTY for p in outer) else []
        else:
            lines[name] = [
                o for o, i in zip(outer, inner, strict=True) if plan[o] == EMPTY and plan[i] == rid
            ]
    longest = max(len(v) for v in lines.values())
    if longest == 0:
        return False
    choices = [k for k, v in lines.items() if len(v) == longest]
    direction = choices[int(rng.integers(len(choices)))]
    for cell in lines[direction]:
        plan[cell] = rid
    if direction == "right":
        room.bbox[3] += 1
    elif direction == "left":
        room.bbox[1] -= 1
    elif direction == "down":
        room.bbox[2] += 1
    else:
        room.bbox[0] -= 1
    return True


def _expand(
    rng: np.random.Generator, nodes: Sequence[LeafRoom | MetaRoom], plan: np.ndarray, ids: dict[int, int]
) -> None:
    """Seed and grow ``nodes`` in the EMPTY cells of ``plan`` (a view), then recurse into meta rooms."""
    weights = (plan == EMPTY).astype(np.float64)
    grown: list[_Grown] = []
    for node in nodes:
        if weights.sum() == 0:
            raise _InvalidCandidate("no empty cell left for a room seed")
        idx = int(rng.choice(weights.size, p=weights.ravel() / weights.sum()))
        r, c = divmod(idx, plan.shape[1])
        rid = node.room_id if isinstance(node, LeafRoom) else ids[id(node)]
        plan[r, c] = rid
        grown.append(_Grown(room_id=rid, ratio=node.ratio, bbox=[r, c, r + 1, c + 1]))
        weights[max(0, r - 1) : r + 2, max(0, c - 1) : c + 2] = 0
    for rect in (True, False):
        active = list(grown)
        while active:
            room = _select(rng, active)
            if not _grow(rng, room, plan, rect):
                active.remove(room)
    _fill_leftovers(plan, {room.room_id for room in grown})
    for room in grown:  # leftovers may have widened a room beyond its grown rectangle
        rows, cols = np.nonzero(plan == room.room_id)
        room.bbox = [int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1]
    for node, room in zip(nodes, grown, strict=True):
        if isinstance(node, MetaRoom):
            r0, c0, r1, c1 = room.bbox
            sub = plan[r0:r1, c0:c1]
            sub[sub == room.room_id] = EMPTY
            _expand(rng, node.children, sub, ids)


def _fill_leftovers(plan: np.ndarray, ids: set[int]) -> None:
    """The paper's last phase: each EMPTY cell left after growing joins the room that fills most of
    its neighbourhood, repeated until none is left (cells no room touches make the candidate invalid)."""
    while (plan == EMPTY).any():
        changed = False
        for r, c in zip(*np.nonzero(plan == EMPTY), strict=True):
            touching = [
                int(plan[r + dr, c + dc])
                for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))
                if 0 <= r + dr < plan.shape[0]
                and 0 <= c + dc < plan.shape[1]
                and int(plan[r + dr, c + dc]) in ids
            ]
            if touching:
                plan[r, c] = max(sorted(set(touching)), key=touching.count)
                changed = True
        if not changed:
            raise _InvalidCandidate("floorplan left empty cells no room touches")


def _ideal_ratios(nodes: Sequence[LeafRoom | MetaRoom], total: float, out: dict[int, float]) -> None:
    ratio_sum = sum(n.ratio for n in nodes)
    for node in nodes:
        share = node.ratio / ratio_sum * total
        if isinstance(node, LeafRoom):
            out[node.room_id] = share
        else:
            _ideal_ratios(node.children, share, out)


def generate_floorplan(
    rng: np.random.Generator, spec: RoomSpec, boundary: np.ndarray, candidates: int
) -> np.ndarray:
    """Best of ``candidates`` grown floorplans by ProcTHOR's ratio-overlap score."""
    meta_ids: dict[int, int] = {}
    next_id = 1000
    stack: list[LeafRoom | MetaRoom] = list(spec.spec)
    while stack:
        node = stack.pop()
        if isinstance(node, MetaRoom):
            meta_ids[id(node)] = next_id
            next_id += 1
            stack.extend(node.children)
    ideal: dict[int, float] = {}
    _ideal_ratios(spec.spec, 1.0, ideal)
    if len(ideal) == 1:
        candidates = 1
    best, best_score = None, -math.inf
    for _ in range(candidates):
        plan = boundary.copy()
        try:
            _expand(rng, spec.spec, plan, meta_ids)
        except _InvalidCandidate:
            continue
        occupied = float((plan >= 2).sum())
        score = sum(min(float((plan == rid).sum()) / occupied, share) for rid, share in ideal.items())
        if score > best_score:
            best, best_score = plan, score
    if best is None:
        raise _InvalidCandidate("no floorplan candidate fits the interior boundary")
    return best


# -- floorplan -> JSON rooms, walls, doors --------------------------------------------------------------
def _room_polygon(mask: np.ndarray, scale: float) -> list[tuple[float, float]]:
    """Outline (x, z) of a simply connected set of grid cells, collinear corners merged."""
    edges: dict[tuple[int, int], tuple[int, int]] = {}
    rows, cols = np.nonzero(mask)
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        # counter-clockwise in (col, row) lattice coordinates: vertices are (x=c, z=r)
        for (a, b), (nr, nc) in (
            (((c, r), (c + 1, r)), (r - 1, c)),
            (((c + 1, r), (c + 1, r + 1)), (r, c + 1)),
            (((c + 1, r + 1), (c, r + 1)), (r + 1, c)),
            (((c, r + 1), (c, r)), (r, c - 1)),
        ):
            inside = 0 <= nr < mask.shape[0] and 0 <= nc < mask.shape[1] and mask[nr, nc]
            if not inside:
                if a in edges:
                    raise _InvalidCandidate("room outline touches itself")
                edges[a] = b
    start = min(edges)
    loop = [start]
    cur = edges[start]
    while cur != start:
        loop.append(cur)
        cur = edges[cur]
        if len(loop) > len(edges):
            raise _InvalidCandidate("room outline is not a single loop")
    if len(loop) != len(edges):
        raise _InvalidCandidate("room has a hole or several parts")
    corners = []
    n = len(loop)
    for i, p in enumerate(loop):
        prev, nxt = loop[i - 1], loop[(i + 1) % n]
        if (p[0] - prev[0]) * (nxt[1] - p[1]) - (p[1] - prev[1]) * (nxt[0] - p[0]) != 0:
            corners.append((p[0] * scale, p[1] * scale))
    return corners


def _boundary_segments(
    plan: np.ndarray,
) -> dict[tuple[int, int], list[tuple[tuple[int, int], tuple[int, int]]]]:
    """(room, neighbour) -> maximal straight boundary segments in lattice coords, shared cell edges merged."""
    unit: dict[tuple[int, int, str, int], list[int]] = {}
    rows_, cols_ = plan.shape
    padded = np.pad(plan, 1, constant_values=OUTDOOR)
    for r in range(rows_):
        for c in range(cols_):
            rid = int(plan[r, c])
            if rid < 2:
                continue
            for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                other = int(padded[r + 1 + dr, c + 1 + dc])
                if other == rid:
                    continue
                other = OUTDOOR if other < 2 else other
                if dr:  # horizontal edge at z = r or r+1, spanning x in [c, c+1]
                    unit.setdefault((rid, other, "h", r + (dr > 0)), []).append(c)
                else:
                    unit.setdefault((rid, other, "v", c + (dc > 0)), []).append(r)
    out: dict[tuple[int, int], list[tuple[tuple[int, int], tuple[int, int]]]] = {}
    for (rid, other, orient, line), starts in sorted(unit.items()):
        starts.sort()
        run_start = prev = starts[0]
        for s in [*starts[1:], None]:
            if s is not None and s == prev + 1:
                prev = s
                continue
            if orient == "h":
                seg = ((run_start, line), (prev + 1, line))
            else:
                seg = ((line, run_start), (line, prev + 1))
            out.setdefault((rid, other), []).append(seg)
            if s is not None:
                run_start = prev = s
    return out


def _wall_id(owner: str, a: tuple[float, float], b: tuple[float, float]) -> str:
    return f"wall|{owner}|{a[0]:.2f}|{a[1]:.2f}|{b[0]:.2f}|{b[1]:.2f}"


def _wall(
    owner: str, room_id: str, a: tuple[float, float], b: tuple[float, float], height: float, material: str
) -> dict[str, Any]:
    return {
        "id": _wall_id(owner, a, b),
        "roomId": room_id,
        "polygon": [
            {"x": a[0], "y": 0.0, "z": a[1]},
            {"x": b[0], "y": 0.0, "z": b[1]},
            {"x": b[0], "y": height, "z": b[1]},
            {"x": a[0], "y": height, "z": a[1]},
        ],
        "material": {"name": material},
    }


def _choose_openings(
    rng: np.random.Generator, spec: RoomSpec, neighbours: set[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Room pairs that get a door: a random spanning tree, single-door rooms attached last as leaves."""
    leaves = {leaf.room_id: leaf for leaf in spec.leaves()}
    parent: dict[int, int] = {}
    siblings: dict[int, set[int]] = {}

    def walk(nodes: Sequence[LeafRoom | MetaRoom], group: int) -> None:
        for node in nodes:
            if isinstance(node, LeafRoom):
                parent[node.room_id] = group
            else:
                walk(node.children, id(node))

    walk(spec.spec, 0)
    for rid, grp in parent.items():
        siblings.setdefault(grp, set()).add(rid)
    shy = {rid for rid, leaf in leaves.items() if leaf.avoid_doors_from_metarooms}
    edges = sorted(neighbours)
    order = rng.permutation(len(edges))
    # siblings first, then other pairs; pairs touching a single-door room last
    ranked = sorted(
        (edges[i] for i in order),
        key=lambda e: (bool(shy & set(e)), parent.get(e[0]) != parent.get(e[1])),
    )
    root = {rid: rid for rid in leaves}

    def find(x: int) -> int:
        while root[x] != x:
            root[x] = root[root[x]]
            x = root[x]
        return x

    chosen: list[tuple[int, int]] = []
    doors_of = dict.fromkeys(leaves, 0)
    for a, b in ranked:
        if a not in root or b not in root:
            continue
        if (a in shy and doors_of[a]) or (b in shy and doors_of[b]):
            continue
        ra, rb = find(a), find(b)
        if ra != rb:
            root[ra] = rb
            chosen.append((a, b))
            doors_of[a] += 1
            doors_of[b] += 1
    # single doors are a preference (ProcTHOR: "if possible"): connect what is left through any wall
    for a, b in ranked:
        if a in root and b in root and find(a) != find(b):
            root[find(a)] = find(b)
            chosen.append((a, b))
    if len({find(r) for r in leaves}) > 1:
        raise _InvalidCandidate("rooms cannot all be connected by doors")
    return chosen


# -- generator -------------------------------------------------------------------------------------------
def _sample_spec(rng: np.random.Generator, config: HouseConfig) -> RoomSpec:
    specs = [s for s in ROOM_SPECS if config.room_spec_ids is None or s.room_spec_id in config.room_spec_ids]
    weights = np.array([s.sampling_weight for s in specs], dtype=np.float64)
    return specs[int(rng.choice(len(specs), p=weights / weights.sum()))]


def generate_house(seed: int, config: HouseConfig | None = None) -> dict[str, Any]:
    """A valid house for ``seed`` (same seed and config -> the same house, byte for byte as JSON)."""
    config = config or HouseConfig()
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    reasons = []
    spec = _sample_spec(rng, config)  # kept across attempts so the spec mix stays ProcTHOR-10K's
    for _ in range(config.max_attempts):
        try:
            house = _generate(rng, spec, config)
        except (_InvalidCandidate, HouseValidationError) as exc:
            reasons.append(f"{spec.room_spec_id}: {exc}")
            continue
        house["metadata"]["seed"] = int(seed)
        return house
    raise HouseGenerationError(
        f"no valid house for seed {seed} in {config.max_attempts} attempts ({'; '.join(reasons[-3:])}); "
        "raise HouseConfig.max_attempts or widen cell_size_range"
    )


_Segment = tuple[str, str, tuple[float, float], tuple[float, float]]  # wall id, twin wall id, ends


def _door_segments(segments: list[_Segment], width: float) -> list[_Segment]:
    return [seg for seg in segments if math.dist(seg[2], seg[3]) >= width + 2 * DOOR_MARGIN]


def _door(
    rng: np.random.Generator, segments: list[_Segment], room0: str, room1: str, openness: int
) -> tuple[dict[str, Any], tuple[float, float, float, float]]:
    """A door on one of ``segments`` and the floor box kept free of furniture around it."""
    asset = sorted(DOOR_HOLES)[int(rng.integers(len(DOOR_HOLES)))]
    width, hole_h = DOOR_HOLES[asset]
    options = _door_segments(segments, width)
    wall0, wall1, p, q = options[int(rng.integers(len(options)))]
    length = math.dist(p, q)
    offset = round(float(rng.uniform(DOOR_MARGIN, length - width - DOOR_MARGIN)), 4)
    ux, uz = (q[0] - p[0]) / length, (q[1] - p[1]) / length
    cx, cz = p[0] + ux * (offset + width / 2), p[1] + uz * (offset + width / 2)
    door = {
        "id": f"door|{room0.split('|')[1]}|{room1.split('|')[1] if room1 != room0 else 'exterior'}",
        "assetId": asset,
        "room0": room0,
        "room1": room1,
        "wall0": wall0,
        "wall1": wall1,
        "holePolygon": [
            {"x": offset, "y": 0.0, "z": 0.0},
            {"x": round(offset + width, 4), "y": hole_h, "z": 0.0},
        ],
        "assetPosition": {"x": round(offset + width / 2, 4), "y": round(hole_h / 2, 4), "z": 0.0},
        "openness": openness,
        "openable": True,
    }
    half_w, reach = width / 2 + 0.1, DOOR_CLEARANCE
    clearance = (
        cx - abs(ux) * half_w - abs(uz) * reach,
        cz - abs(uz) * half_w - abs(ux) * reach,
        cx + abs(ux) * half_w + abs(uz) * reach,
        cz + abs(uz) * half_w + abs(ux) * reach,
    )
    return door, clearance


def _generate(rng: np.random.Generator, spec: RoomSpec, config: HouseConfig) -> dict[str, Any]:
    leaves = spec.leaves()
    boundary = sample_interior_boundary(rng, len(leaves), spec.dims)
    plan = generate_floorplan(rng, spec, boundary, config.candidate_generations)
    scale = float(rng.uniform(*config.cell_size_range))
    ceiling = 2.5 + float(rng.beta(1.25, 5.5)) * (7.0 - 2.5)
    max_floor_objects = int(rng.choice([1, 4, 5, 6, 7], p=[1 / 200, 1 / 100, 1 / 50, 1 / 10, 173 / 200]))
    wall_material = {rid: str(rng.choice(WALL_MATERIALS)) for rid in sorted(leaf.room_id for leaf in leaves)}
    room_key = {leaf.room_id: f"room|{leaf.room_id}" for leaf in leaves}

    rooms: list[dict[str, Any]] = []
    for leaf in leaves:
        polygon = _room_polygon(plan == leaf.room_id, scale)
        rooms.append(
            {
                "id": room_key[leaf.room_id],
                "roomType": leaf.room_type,
                "floorPolygon": [{"x": round(x, 4), "y": 0.0, "z": round(z, 4)} for x, z in polygon],
                "floorMaterial": {"name": str(rng.choice(FLOOR_MATERIALS))},
                "ceilings": [],
                "children": [],
            }
        )

    segments = _boundary_segments(plan)
    walls: list[dict[str, Any]] = []
    wall_of: dict[tuple[int, int], list[_Segment]] = {}
    outdoor_of: dict[int, list[_Segment]] = {}
    for (rid, other), segs in segments.items():
        for (c0, r0), (c1, r1) in segs:
            a, b = (round(c0 * scale, 4), round(r0 * scale, 4)), (round(c1 * scale, 4), round(r1 * scale, 4))
            wall = _wall(room_key[rid], room_key[rid], a, b, ceiling, wall_material[rid])
            walls.append(wall)
            if other == OUTDOOR:
                walls.append(_wall("exterior", "exterior", a, b, ceiling, wall_material[rid]))
                outdoor_of.setdefault(rid, []).append((wall["id"], _wall_id("exterior", a, b), a, b))
            else:
                twin = _wall_id(room_key[other], a, b)
                wall_of.setdefault((rid, other), []).append((wall["id"], twin, a, b))

    neighbours = {
        (room_a, room_b)
        for (room_a, room_b), segs in wall_of.items()
        if room_a < room_b and _door_segments(segs, _WIDEST_DOOR)
    }
    doors: list[dict[str, Any]] = []
    keep_out: list[tuple[float, float, float, float]] = []
    for room_a, room_b in _choose_openings(rng, spec, neighbours):
        door, clearance = _door(
            rng, wall_of[(room_a, room_b)], room_key[room_a], room_key[room_b], openness=1
        )
        doors.append(door)
        keep_out.append(clearance)
    # one closed door to the outside, preferably from a kitchen or living room (ProcTHOR's doors.py)
    public = [leaf.room_id for leaf in leaves if leaf.room_type in ("Kitchen", "LivingRoom")]
    candidates = [rid for rid in sorted(outdoor_of) if rid in public] or sorted(outdoor_of)
    candidates = [rid for rid in candidates if _door_segments(outdoor_of[rid], _WIDEST_DOOR)]
    if candidates:
        rid = candidates[int(rng.integers(len(candidates)))]
        door, clearance = _door(rng, outdoor_of[rid], room_key[rid], room_key[rid], openness=0)
        doors.append(door)
        keep_out.append(clearance)

    objects: list[dict[str, Any]] = []
    bias = house_bias(rng)
    for leaf, room in zip(leaves, rooms, strict=True):
        furnisher = RoomFurnisher(rng, room, plan == leaf.room_id, scale, keep_out, config.asset_split)
        objects += furnisher.furnish(max_floor_objects, bias)

    house: dict[str, Any] = {
        "rooms": rooms,
        "walls": walls,
        "doors": doors,
        "windows": [],
        "objects": objects,
        "proceduralParameters": {
            "ceilingMaterial": {"name": str(rng.choice(WALL_MATERIALS))},
            "ceilingColor": {"r": 1.0, "g": 1.0, "b": 1.0},
            "floorColliderThickness": 1.0,
            "lights": [
                {
                    "id": "DirectionalLight",
                    "type": "directional",
                    "position": {"x": 0.84, "y": 0.19, "z": -1.0},
                    "rotation": {"x": 66, "y": 75, "z": 0},
                    "intensity": 0.35,
                    "rgb": {"r": 1.0, "g": 1.0, "b": 1.0},
                    "shadow": {"type": "Soft", "strength": 1},
                }
            ]
            + [
                {
                    "id": f"light|{room['id']}",
                    "type": "point",
                    "position": {**_centroid(room), "y": round(ceiling - 0.3, 4)},
                    "intensity": 0.45,
                    "range": 15,
                    "rgb": {"r": 1.0, "g": 0.855, "b": 0.722},
                    "roomId": room["id"],
                }
                for room in rooms
            ],
            "reflections": [],
            "receptacleHeight": 0.7,
            "skyboxId": "Sky1",
        },
        "metadata": {"roomSpecId": spec.room_spec_id, "schema": SCHEMA_VERSION},
    }
    # drop furniture (last placed first) until the free space is connected for the agent body
    while True:
        try:
            space = validate_house(
                house, config.agent_radius, config.agent_height, config.grid_cell, check_start=False
            )
            break
        except HouseValidationError:
            if not house["objects"]:
                raise
            house["objects"].pop()
    house["metadata"]["agent"] = _agent_start(rng, house, space)
    return house


def _centroid(room: dict[str, Any]) -> dict[str, float]:
    xs = [p["x"] for p in room["floorPolygon"]]
    zs = [p["z"] for p in room["floorPolygon"]]
    return {"x": round((min(xs) + max(xs)) / 2, 4), "z": round((min(zs) + max(zs)) / 2, 4)}


def _agent_start(rng: np.random.Generator, house: dict[str, Any], space: FreeSpace) -> dict[str, Any]:
    """The most open navigable 0.25 m lattice point of a random room (ProcTHOR's agent.py picks the
    centre of the room's largest free rectangle), written in the JSON's (Unity) frame."""
    room = house["rooms"][int(rng.integers(len(house["rooms"])))]
    cx, cz = space.cell_centers()
    polygon = tuple(unity_to_ours(p["x"], 0.0, p["z"])[::2] for p in room["floorPolygon"])
    inside = point_in_polygon(cx, cz, polygon) & (space.labels == space.largest_island)
    clearance = ndimage.distance_transform_edt(space.navigable) * space.cell
    score = np.where(inside, clearance, -1.0)
    best = np.unravel_index(int(np.argmax(score)), score.shape)
    target = space.cell_center(int(best[0]), int(best[1]))
    lattice = [
        np.round(target / 0.25) * 0.25 + np.array([dx, dz])
        for dx in (0, 0.25, -0.25)
        for dz in (0, 0.25, -0.25)
    ]
    position = next((p for p in lattice if space.is_navigable(p)), target)
    x, _, z = ours_to_unity(float(position[0]), 0.0, float(position[1]))
    return {
        "position": {"x": round(x, 4) + 0.0, "y": 0.95, "z": round(z, 4) + 0.0},
        "rotation": {"x": 0, "y": int(rng.choice([0, 90, 180, 270])), "z": 0},
        "horizon": 30,
        "standing": True,
    }


def house_from_rooms(
    rooms: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    objects: Sequence[dict[str, Any]] = (),
    ceiling_height: float = 2.5,
) -> dict[str, Any]:
    """A door-less house JSON from hand-made room outlines ``(roomType, [(x, z), ...])``.

    For hand-checked layouts (corridors, L-shapes); every outline edge becomes a wall of that room
    and an exterior wall. Outlines are axis-aligned and given in our (simulation) frame, so
    :func:`parse_house` returns them unchanged; the JSON stores them in Unity's (z negated).
    ``objects`` are house-JSON objects, already in Unity's frame.
    """
    out_rooms, walls = [], []
    for k, (room_type, polygon) in enumerate(rooms):
        if room_type not in ROOM_TYPES:
            raise ValueError(f"room {k}: roomType {room_type!r} is not one of {ROOM_TYPES}")
        room_id = f"room|{k + 2}"
        pts = [(float(x), -float(z) + 0.0) for x, z in polygon]
        out_rooms.append(
            {
                "id": room_id,
                "roomType": room_type,
                "floorPolygon": [{"x": x, "y": 0.0, "z": z} for x, z in pts],
                "floorMaterial": {"name": FLOOR_MATERIALS[0]},
                "ceilings": [],
                "children": [],
            }
        )
        for a, b in zip(pts, pts[1:] + pts[:1], strict=True):
            walls.append(_wall(room_id, room_id, a, b, ceiling_height, WALL_MATERIALS[0]))
            walls.append(_wall("exterior", "exterior", a, b, ceiling_height, WALL_MATERIALS[0]))
    first = out_rooms[0]
    return {
        "rooms": out_rooms,
        "walls": walls,
        "doors": [],
        "windows": [],
        "objects": list(objects),
        "proceduralParameters": {
            "ceilingMaterial": {"name": WALL_MATERIALS[0]},
            "ceilingColor": {"r": 1.0, "g": 1.0, "b": 1.0},
            "floorColliderThickness": 1.0,
            "lights": [],
            "reflections": [],
            "receptacleHeight": 0.7,
            "skyboxId": "Sky1",
        },
        "metadata": {
            "roomSpecId": "hand-made",
            "schema": SCHEMA_VERSION,
            "agent": {
                "position": {**_centroid(first), "y": 0.95},
                "rotation": {"x": 0, "y": 0, "z": 0},
                "horizon": 30,
                "standing": True,
            },
        },
    }


# -- validation and IO -----------------------------------------------------------------------------------
def validate_house(
    house: dict[str, Any],
    agent_radius: float,
    agent_height: float,
    cell: float = 0.05,
    check_start: bool = True,
) -> FreeSpace:
    """Check ProcTHOR's schema (:func:`schema.check_house_schema`) and that a disc agent can reach every
    room through passable doors; return its free space."""
    check_house_schema(house, require_agent=check_start)
    layout: HouseLayout = parse_house(house)
    for door in layout.doors:
        if door.openness > 0 and door.width <= 2 * agent_radius:
            raise HouseValidationError(f"door {door.id}: width {door.width:.2f} m <= agent diameter")
        if door.openness > 0 and door.height <= agent_height:
            raise HouseValidationError(f"door {door.id}: hole height {door.height:.2f} m <= agent height")
    space = FreeSpace(layout, agent_radius, agent_height, cell)
    main = space.largest_island
    if main == 0:
        raise HouseValidationError("the house has no navigable floor for this agent")
    cx, cz = space.cell_centers()
    for room in layout.rooms:
        inside = point_in_polygon(cx, cz, room.polygon)
        if not (space.labels[inside] == main).any():
            raise HouseValidationError(f"room {room.id} is not reachable from the rest of the house")
    for door in layout.doors:
        if door.openness <= 0:
            continue
        for side in (1, -1):
            probe = np.array(door.center) + side * (agent_radius + 0.15) * np.array(door.normal)
            if space.island_of(probe) != main:
                raise HouseValidationError(
                    f"door {door.id} is blocked on one side for radius {agent_radius} m"
                )
    if check_start:
        agent = house.get("metadata", {}).get("agent")
        if agent is None:
            raise HouseValidationError("house metadata lacks the agent start pose")
        x, _, z = unity_to_ours(agent["position"]["x"], 0.0, agent["position"]["z"])
        start = np.array([x, z])
        if space.island_of(start) != main or not space.is_navigable(start):
            raise HouseValidationError(f"agent start {start.tolist()} is not on the main navigable island")
    return space


def save_house(house: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write a house as JSON (``.json`` or ``.json.gz``) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(house, sort_keys=True).encode()
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    return path


def load_house(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a house JSON (``.json`` or ``.json.gz``) and check it parses."""
    path = Path(path)
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    house = json.loads(raw)
    if not isinstance(house, dict):
        raise ValueError(f"{path}: a house JSON must be an object, got {type(house).__name__}")
    parse_house(house)
    return house
