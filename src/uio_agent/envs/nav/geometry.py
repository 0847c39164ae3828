"""Free space, motion with habitat's sliding, and geodesic distance fields.

Collision is continuous and exact: the agent is a disc of ``radius`` on the floor and every wall
piece or object below the agent's height is an axis-aligned box, so the configuration-space obstacle
is the box grown by a disc (what Recast's navmesh erosion approximates). Geodesics come from fast
marching (scikit-fmm) on a grid whose cells are navigable exactly when their centre is, one field
per goal, cached.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import skfmm
from scipy import ndimage

from uio_agent.envs.nav.layout import HouseLayout

#: habitat-sim's collision test: ``collided = moved² + 1e-5 < intended²`` (object_controls.py).
COLLISION_EPS = 1e-5
_CLEAR = 1e-4  # metres kept between the agent disc and an obstacle after a blocked move
_SQRT2 = math.sqrt(2.0)


@dataclass(frozen=True)
class StepResult:
    position: np.ndarray  # (x, z)
    collided: bool


def point_in_polygon(px: np.ndarray, pz: np.ndarray, polygon: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Even-odd test of points ``(px, pz)`` (any equal shapes) against an (x, z) polygon."""
    inside = np.zeros(px.shape, dtype=bool)
    n = len(polygon)
    for k in range(n):
        (x0, z0), (x1, z1) = polygon[k], polygon[(k + 1) % n]
        if z0 == z1:
            continue
        crosses = (pz >= min(z0, z1)) & (pz < max(z0, z1))
        x_at = x0 + (pz - z0) * (x1 - x0) / (z1 - z0)
        inside ^= crosses & (px < x_at)
    return inside


class FreeSpace:
    """The floor area a disc agent of ``radius`` (and ``height``) may occupy in one house."""

    def __init__(self, layout: HouseLayout, radius: float, height: float, cell_size: float = 0.05) -> None:
        if radius <= 0 or height <= 0 or cell_size <= 0:
            raise ValueError(
                f"radius, height and cell_size must be > 0 metres, got {radius}, {height}, {cell_size}"
            )
        self.layout = layout
        self.radius = float(radius)
        self.height = float(height)
        self.cell = float(cell_size)
        # obstacles are the parts of walls and objects the agent's body can touch
        boxes = [b for b in layout.boxes if b.y0 < height and b.y1 > 0.0]
        self._boxes = np.array([[b.x0, b.z0, b.x1, b.z1] for b in boxes], dtype=np.float64).reshape(-1, 4)
        x0, z0, x1, z1 = layout.bounds
        margin = 2 * self.cell
        self.origin = np.array([x0 - margin, z0 - margin])
        self.shape = (
            math.ceil((z1 - z0 + 2 * margin) / self.cell),
            math.ceil((x1 - x0 + 2 * margin) / self.cell),
        )
        self.navigable = self._rasterize()
        labels, count = ndimage.label(self.navigable, structure=np.ones((3, 3), dtype=bool))
        self.labels = labels
        sizes = np.bincount(labels.ravel(), minlength=count + 1)
        sizes[0] = 0
        self.largest_island = int(np.argmax(sizes)) if count else 0
        self._fields: OrderedDict[tuple[float, float], DistanceField] = OrderedDict()

    # -- grid ---------------------------------------------------------------------------------
    def cell_centers(self) -> tuple[np.ndarray, np.ndarray]:
        rows, cols = self.shape
        xs = self.origin[0] + (np.arange(cols) + 0.5) * self.cell
        zs = self.origin[1] + (np.arange(rows) + 0.5) * self.cell
        return np.meshgrid(xs, zs)

    def _rasterize(self) -> np.ndarray:
        cx, cz = self.cell_centers()
        interior = np.zeros(self.shape, dtype=bool)
        for room in self.layout.rooms:
            interior |= point_in_polygon(cx, cz, room.polygon)
        free = interior.copy()
        r = self.radius
        for x0, z0, x1, z1 in self._boxes:
            c0 = max(int((x0 - r - self.origin[0]) / self.cell) - 1, 0)
            c1 = min(int((x1 + r - self.origin[0]) / self.cell) + 2, self.shape[1])
            r0 = max(int((z0 - r - self.origin[1]) / self.cell) - 1, 0)
            r1 = min(int((z1 + r - self.origin[1]) / self.cell) + 2, self.shape[0])
            if c0 >= c1 or r0 >= r1:
                continue
            wx, wz = cx[r0:r1, c0:c1], cz[r0:r1, c0:c1]
            dx = np.maximum(np.maximum(x0 - wx, wx - x1), 0.0)
            dz = np.maximum(np.maximum(z0 - wz, wz - z1), 0.0)
            # a hair of margin so that every navigable cell centre also passes the exact clearance test
            free[r0:r1, c0:c1] &= dx * dx + dz * dz > (r + 1e-6) ** 2
        return free

    def to_cell(self, point: np.ndarray) -> tuple[int, int]:
        col = math.floor((point[0] - self.origin[0]) / self.cell)
        row = math.floor((point[1] - self.origin[1]) / self.cell)
        return row, col

    def cell_center(self, row: int, col: int) -> np.ndarray:
        return self.origin + (np.array([col, row], dtype=np.float64) + 0.5) * self.cell

    def in_grid(self, row: int, col: int) -> bool:
        return 0 <= row < self.shape[0] and 0 <= col < self.shape[1]

    def island_of(self, point: np.ndarray) -> int:
        """Label of the navigable island holding ``point`` (0: none).

        A free point near an obstacle can lie in a cell whose centre is blocked; it then belongs to
        the island of its nearest navigable neighbouring cell.
        """
        row, col = self.to_cell(point)
        best, label = math.inf, 0
        for dr in (0, -1, 1):
            for dc in (0, -1, 1):
                r, c = row + dr, col + dc
                if self.in_grid(r, c) and self.labels[r, c]:
                    if (dr, dc) == (0, 0):
                        return int(self.labels[r, c])
                    d = float(np.hypot(*(self.cell_center(r, c) - point)))
                    if d < best:
                        best, label = d, int(self.labels[r, c])
        return label

    def island_radius(self, label: int) -> float:
        """Radius of an island: largest distance from its centroid to one of its cells (metres)."""
        rows, cols = np.nonzero(self.labels == label)
        if rows.size == 0:
            return 0.0
        pts = self.origin + (np.stack([cols, rows], axis=1) + 0.5) * self.cell
        return float(np.sqrt(((pts - pts.mean(axis=0)) ** 2).sum(axis=1)).max())

    # -- exact continuous collision ------------------------------------------------------------
    def clearance(self, point: np.ndarray) -> float:
        """Distance from ``point`` (x, z) to the nearest obstacle box (inf without boxes)."""
        if not len(self._boxes):
            return math.inf
        b = self._boxes
        dx = np.maximum(np.maximum(b[:, 0] - point[0], point[0] - b[:, 2]), 0.0)
        dz = np.maximum(np.maximum(b[:, 1] - point[1], point[1] - b[:, 3]), 0.0)
        return float(np.sqrt((dx * dx + dz * dz).min()))

    def is_navigable(self, point: np.ndarray) -> bool:
        """Inside the house, on a navigable cell, and clear of every obstacle by more than the radius."""
        row, col = self.to_cell(point)
        if not self.in_grid(row, col):
            return False
        return self.clearance(point) > self.radius and bool(self._interior_near(row, col))

    def _interior_near(self, row: int, col: int) -> bool:
        r0, c0 = max(row - 1, 0), max(col - 1, 0)
        return bool(self.navigable[r0 : row + 2, c0 : col + 2].any())

    def segment_clearance(self, a: np.ndarray, b: np.ndarray) -> float:
        """Exact distance between segment ``a-b`` and the nearest box (0 if it crosses one)."""
        boxes = self._boxes
        if not len(boxes):
            return math.inf
        lo = np.minimum(a, b) - self.radius - 1.0
        hi = np.maximum(a, b) + self.radius + 1.0
        near = (
            (boxes[:, 0] <= hi[0]) & (boxes[:, 2] >= lo[0]) & (boxes[:, 1] <= hi[1]) & (boxes[:, 3] >= lo[1])
        )
        boxes = boxes[near]
        if not len(boxes):
            return math.inf
        d = b - a
        # Liang-Barsky: does the segment cross a box?
        t0 = np.zeros(len(boxes))
        t1 = np.ones(len(boxes))
        crossing = np.ones(len(boxes), dtype=bool)
        for axis, (lo_col, hi_col) in enumerate(((0, 2), (1, 3))):
            if abs(d[axis]) < 1e-12:
                crossing &= (a[axis] >= boxes[:, lo_col]) & (a[axis] <= boxes[:, hi_col])
                continue
            ta = (boxes[:, lo_col] - a[axis]) / d[axis]
            tb = (boxes[:, hi_col] - a[axis]) / d[axis]
            t0 = np.maximum(t0, np.minimum(ta, tb))
            t1 = np.minimum(t1, np.maximum(ta, tb))
        crossing &= t0 <= t1
        if crossing.any():
            return 0.0

        def point_box(p: np.ndarray) -> np.ndarray:
            dx = np.maximum(np.maximum(boxes[:, 0] - p[0], p[0] - boxes[:, 2]), 0.0)
            dz = np.maximum(np.maximum(boxes[:, 1] - p[1], p[1] - boxes[:, 3]), 0.0)
            return np.sqrt(dx * dx + dz * dz)

        best = np.minimum(point_box(a), point_box(b))
        length2 = float(d @ d)
        for cx_col, cz_col in ((0, 1), (0, 3), (2, 1), (2, 3)):
            corners = boxes[:, [cx_col, cz_col]]
            if length2 < 1e-18:
                dist = np.sqrt(((corners - a) ** 2).sum(axis=1))
            else:
                t = np.clip(((corners - a) @ d) / length2, 0.0, 1.0)
                proj = a + t[:, None] * d
                dist = np.sqrt(((corners - proj) ** 2).sum(axis=1))
            best = np.minimum(best, dist)
        return float(best.min())

    def segment_is_free(self, a: np.ndarray, b: np.ndarray, margin: float = 0.0) -> bool:
        return self.segment_clearance(a, b) > self.radius + margin

    def _contact_normal(self, point: np.ndarray) -> np.ndarray:
        """Unit (x, z) normal pointing away from the obstacles touching the disc at ``point``."""
        b = self._boxes
        nx = np.clip(point[0], b[:, 0], b[:, 2])
        nz = np.clip(point[1], b[:, 1], b[:, 3])
        away = np.stack([point[0] - nx, point[1] - nz], axis=1)
        dist = np.sqrt((away**2).sum(axis=1))
        touching = dist <= self.radius + 10 * _CLEAR
        if not touching.any():
            touching = dist <= dist.min() + 1e-9
        normal = (away[touching] / np.maximum(dist[touching], 1e-12)[:, None]).sum(axis=0)
        norm = float(np.hypot(normal[0], normal[1]))
        return normal / norm if norm > 1e-12 else np.zeros(2)

    def _advance(self, start: np.ndarray, motion: np.ndarray) -> float:
        """Largest fraction of ``motion`` from ``start`` that keeps the disc clear.

        Exact ray cast against each box grown by the radius (two slabs and four corner circles);
        contact is counted only while moving into an obstacle, so gliding along a face is free.
        """
        length = float(np.hypot(motion[0], motion[1]))
        if length < 1e-12 or not len(self._boxes):
            return 1.0
        r = self.radius
        b = self._boxes
        lo = np.minimum(start, start + motion) - r
        hi = np.maximum(start, start + motion) + r
        b = b[(b[:, 0] <= hi[0]) & (b[:, 2] >= lo[0]) & (b[:, 1] <= hi[1]) & (b[:, 3] >= lo[1])]
        if not len(b):
            return 1.0
        hit = np.full(len(b), np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            for grow_x, grow_z in ((r, 0.0), (0.0, r)):
                x0, x1 = b[:, 0] - grow_x, b[:, 2] + grow_x
                z0, z1 = b[:, 1] - grow_z, b[:, 3] + grow_z
                t0 = np.full(len(b), -np.inf)
                t1 = np.full(len(b), np.inf)
                for s0, m, lo_, hi_ in ((start[0], motion[0], x0, x1), (start[1], motion[1], z0, z1)):
                    if abs(m) < 1e-15:
                        outside = (s0 < lo_) | (s0 > hi_)
                        t0 = np.where(outside, np.inf, t0)
                        continue
                    ta, tb = (lo_ - s0) / m, (hi_ - s0) / m
                    t0 = np.maximum(t0, np.minimum(ta, tb))
                    t1 = np.minimum(t1, np.maximum(ta, tb))
                entering = (t0 <= t1) & (t1 > 0) & (t0 <= 1.0)
                hit = np.where(entering & (t0 >= 0), np.minimum(hit, t0), hit)
                # already touching this slab: blocked only when heading into the box
                inside = entering & (t0 < 0)
                if inside.any():
                    nx = np.clip(start[0], b[:, 0], b[:, 2])
                    nz = np.clip(start[1], b[:, 1], b[:, 3])
                    inward = (start[0] - nx) * motion[0] + (start[1] - nz) * motion[1] < 0
                    hit = np.where(inside & inward, 0.0, hit)
            for cx_col, cz_col in ((0, 1), (0, 3), (2, 1), (2, 3)):
                fx, fz = start[0] - b[:, cx_col], start[1] - b[:, cz_col]
                qa = length * length
                qb = fx * motion[0] + fz * motion[1]
                qc = fx * fx + fz * fz - r * r
                disc = qb * qb - qa * qc
                t = (-qb - np.sqrt(disc)) / qa
                ok = (disc >= 0) & (t >= 0) & (t <= 1.0) & (qc > 0)
                hit = np.where(ok, np.minimum(hit, t), hit)
        first = float(hit.min())
        if first > 1.0:
            return 1.0
        return max(0.0, first - _CLEAR / length)

    def step(self, start: np.ndarray, end: np.ndarray, sliding: bool = True) -> StepResult:
        """Move from ``start`` toward ``end``: habitat's ``try_step`` (sliding) or ``try_step_no_sliding``.

        Sliding keeps the tangential part of a blocked motion, like Detour's moveAlongSurface; the
        collision flag is habitat-sim's: the achieved displacement is shorter than the commanded one.
        The grid plays the navmesh's part: the agent never leaves its island, so slivers that are free
        for the disc but hold no navigable cell (where no geodesic is defined) stay out of reach.
        """
        start = np.asarray(start, dtype=np.float64)
        intended = np.asarray(end, dtype=np.float64) - start
        island = self.island_of(start)
        position = start.copy()
        remaining = intended.copy()
        for _ in range(3 if sliding else 1):
            t = self._advance(position, remaining)
            if island and t > 0 and self.island_of(position + t * remaining) != island:
                lo, hi = 0.0, t
                for _ in range(16):
                    mid = (lo + hi) / 2
                    lo, hi = (mid, hi) if self.island_of(position + mid * remaining) == island else (lo, mid)
                position = position + lo * remaining
                break
            position = position + t * remaining
            if t >= 1.0 or not sliding:
                break
            remaining = (1.0 - t) * remaining
            normal = self._contact_normal(position)
            into = float(remaining @ normal)
            if into < 0:
                remaining = remaining - into * normal
            if float(remaining @ remaining) < 1e-12:
                break
        moved = position - start
        collided = float(moved @ moved) + COLLISION_EPS < float(intended @ intended)
        return StepResult(position=position, collided=collided)

    # -- geodesics ------------------------------------------------------------------------------
    def distance_field(self, goal: np.ndarray) -> DistanceField:
        """The geodesic field to ``goal``, cached per goal (LRU of 8)."""
        key = (round(float(goal[0]), 6), round(float(goal[1]), 6))
        field = self._fields.get(key)
        if field is None:
            field = DistanceField(self, np.asarray(goal, dtype=np.float64))
            self._fields[key] = field
            if len(self._fields) > 8:
                self._fields.popitem(last=False)
        else:
            self._fields.move_to_end(key)
        return field

    def geodesic_distance(self, start: np.ndarray, goal: np.ndarray) -> float:
        return self.distance_field(goal).distance(start)


class DistanceField:
    """Geodesic distance to one goal point, or to the nearest cell of a goal region (ObjectNav's
    viewpoints, :meth:`to_region`), over the navigable grid; ``inf`` where unreachable."""

    def __init__(self, space: FreeSpace, goal: np.ndarray) -> None:
        row, col = space.to_cell(goal)
        if not space.in_grid(row, col) or not space.navigable[row, col]:
            raise ValueError(f"goal {goal.tolist()} is not on a navigable cell of this house")
        island = space.labels == space.labels[row, col]
        cx, cz = space.cell_centers()
        euclid = np.hypot(cx - goal[0], cz - goal[1])
        # the zero contour is a circle of 0.75 cell around the goal: no cell centre lies on it, so the
        # march does not hinge on the sign of a rounding error at the four neighbours
        start = 0.75 * space.cell
        phi = np.ma.MaskedArray(euclid - start, mask=~island)
        phi[row, col] = -space.cell / 2
        travel = skfmm.distance(phi, dx=space.cell)
        field = np.full(space.shape, np.inf)
        values = np.asarray(travel.filled(np.inf), dtype=np.float64) + start
        # fast marching is exact up to discretisation; the straight line is a lower bound
        field[island] = np.maximum(values[island], euclid[island])
        self._setup(space, field, np.asarray(goal, dtype=np.float64), None)

    @classmethod
    def to_region(cls, space: FreeSpace, region: np.ndarray) -> DistanceField:
        """Multi-source field: 0 on the navigable cells of boolean grid ``region``, elsewhere the
        geodesic distance to the nearest region cell's edge (the islands without one are ``inf``)."""
        region = np.asarray(region, dtype=bool) & space.navigable
        if not region.any():
            raise ValueError("the goal region holds no navigable cell of this house")
        reach = np.isin(space.labels, np.unique(space.labels[region])) & space.navigable
        phi = np.ma.MaskedArray(np.where(region, -0.5, 0.5) * space.cell, mask=~reach)
        travel = np.asarray(skfmm.distance(phi, dx=space.cell).filled(np.inf), dtype=np.float64)
        field = np.full(space.shape, np.inf)
        field[reach] = np.where(region[reach], 0.0, travel[reach])
        out = cls.__new__(cls)
        out._setup(space, field, None, region)
        return out

    def _setup(
        self, space: FreeSpace, field: np.ndarray, goal: np.ndarray | None, region: np.ndarray | None
    ) -> None:
        self.space = space
        self.field = field
        self.goal = goal
        self.region = region
        self._pointers: np.ndarray | None = None

    def distance(self, point: np.ndarray) -> float:
        """Geodesic distance from ``point`` (x, z): exact when a goal point is in sight, 0 on a region
        cell, else via the field."""
        point = np.asarray(point, dtype=np.float64)
        space = self.space
        if self.goal is not None and space.segment_is_free(point, self.goal):
            return float(np.hypot(*(point - self.goal)))
        row, col = space.to_cell(point)
        if self.region is not None and space.in_grid(row, col) and self.region[row, col]:
            return 0.0
        best = math.inf
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                r, c = row + dr, col + dc
                if space.in_grid(r, c) and math.isfinite(self.field[r, c]):
                    centre = space.cell_center(r, c)
                    best = min(best, self.field[r, c] + float(np.hypot(*(point - centre))))
        return best

    def _descent_pointers(self) -> np.ndarray:
        """Flat index of each cell's steepest-descent neighbour (itself at minima and blocked cells)."""
        rows, cols = self.field.shape
        padded = np.pad(self.field, 1, constant_values=np.inf)
        best_slope = np.zeros(self.field.shape)
        pointer = np.arange(rows * cols).reshape(rows, cols)
        index = np.pad(pointer, 1, constant_values=-1)
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                if not (dr or dc):
                    continue
                neighbour = padded[1 + dr : 1 + dr + rows, 1 + dc : 1 + dc + cols]
                with np.errstate(invalid="ignore"):
                    slope = (self.field - neighbour) / (_SQRT2 if dr and dc else 1.0)
                better = np.isfinite(neighbour) & (slope > best_slope)
                best_slope = np.where(better, slope, best_slope)
                pointer = np.where(better, index[1 + dr : 1 + dr + rows, 1 + dc : 1 + dc + cols], pointer)
        return pointer.ravel()

    def descend(self, point: np.ndarray) -> list[np.ndarray]:
        """Cell centres along steepest descent of the field from ``point``, ending at the goal point
        (or at the first region cell)."""
        space = self.space
        row, col = space.to_cell(point)
        options = [
            (self.field[row + dr, col + dc], row + dr, col + dc)
            for dr in (-1, 0, 1)
            for dc in (-1, 0, 1)
            if space.in_grid(row + dr, col + dc) and math.isfinite(self.field[row + dr, col + dc])
        ]
        if not options:
            return []
        if not (space.in_grid(row, col) and math.isfinite(self.field[row, col])):
            # the point may sit on a cell whose centre is blocked: start from the best finite neighbour
            _, row, col = min(options)
        if self._pointers is None:
            self._pointers = self._descent_pointers()
        cols = space.shape[1]
        cell = row * cols + col
        cells = [cell]
        while True:
            nxt = int(self._pointers[cell])
            if nxt == cell:
                break
            cell = nxt
            cells.append(cell)
        flat = np.array(cells)
        centres = space.origin + (np.stack([flat % cols, flat // cols], axis=1) + 0.5) * space.cell
        return [*centres] if self.goal is None else [*centres, self.goal.copy()]
