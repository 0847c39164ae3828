"""ObjectNav viewpoints: the floor cells from which an object can be seen close enough to count.

A navigable cell is a viewpoint of an object when the object's bounding box lies within ``reach`` of
the camera standing there (measured as the success rule measures, :mod:`.visibility`), the straight
line from the cell to the box crosses no wall or tall furniture, and, for an object on a receptacle
whose top is above the camera, the whole object is within reach and its top rises above the sight
line over the receptacle's near edge. An object on a receptacle also needs a line of sight, in 3-D,
from the camera to one of its rendered parts that misses the parts of the receptacle and of the
other objects on it (a mug behind a laptop on the same dresser has no viewpoint). ``reach`` is the
visibility distance less a margin, so that a view from a viewpoint is within the distance even
where the object's shape sits inside its box; some viewpoints of floor objects are still occluded by
low furniture, which the rendered success check catches. Per target type, the union of its objects'
viewpoints is the goal region of a multi-source geodesic field (reference §5): ``distance_to_target``
and the SPL's shortest path.
"""

from __future__ import annotations

import math

import numpy as np

from uio_agent.envs.nav.geometry import DistanceField, FreeSpace
from uio_agent.envs.nav.layout import SceneObject
from uio_agent.envs.nav.shapes import object_parts

#: metres by which viewpoints stay inside the visibility distance
VIEWPOINT_MARGIN = 0.15


def _blocked(px: np.ndarray, pz: np.ndarray, qx: np.ndarray, qz: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Whether each segment p-q crosses any of ``boxes`` (rows x0, z0, x1, z1): Liang-Barsky, vectorised."""
    if not len(boxes):
        return np.zeros(px.shape, dtype=bool)
    dx, dz = (qx - px)[:, None], (qz - pz)[:, None]
    t0 = np.zeros((px.size, len(boxes)))
    t1 = np.ones((px.size, len(boxes)))
    crossing = np.ones((px.size, len(boxes)), dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for start, delta, lo, hi in (
            (px[:, None], dx, boxes[:, 0], boxes[:, 2]),
            (pz[:, None], dz, boxes[:, 1], boxes[:, 3]),
        ):
            flat = np.abs(delta) < 1e-12
            ta, tb = (lo - start) / delta, (hi - start) / delta
            t0 = np.where(flat, t0, np.maximum(t0, np.minimum(ta, tb)))
            t1 = np.where(flat, t1, np.minimum(t1, np.maximum(ta, tb)))
            crossing &= ~flat | ((start >= lo) & (start <= hi))
    return np.asarray((crossing & (t0 <= t1)).any(axis=1))


#: per round part kind: the fraction of its bounding box's half sizes (across its axis, along it) of a
#: box inside it; a box part is its own box
_INSCRIBED = {
    "cylinder": (math.sqrt(0.5), 1.0),
    "capsule": (math.sqrt(0.5), 1.0),
    "sphere": (math.sqrt(1 / 3), math.sqrt(1 / 3)),
    "ellipsoid": (math.sqrt(1 / 3), math.sqrt(1 / 3)),
}


def part_boxes(obj: SceneObject, inside: bool = False) -> np.ndarray:
    """World boxes (rows x0, y0, z0, x1, y1, z1, our frame) of the object's rendered parts
    (:func:`.shapes.object_parts`, placed as the renderer places them): exact for box parts; for round
    ones the bounding box, or with ``inside`` a box within the part (:data:`_INSCRIBED`)."""
    theta = math.radians(obj.rotation_y)
    across = np.array([math.cos(theta), math.sin(theta)])  # the asset's x in our (x, z)
    front = np.array(obj.forward)  # the asset's z
    rows = []
    for part in object_parts(obj.object_type, obj.asset_id, obj.size):
        lx, ly, lz = part.centre
        hx, hy, hz = part.half
        radial, axial = _INSCRIBED.get(part.kind, (1.0, 1.0)) if inside else (1.0, 1.0)
        if part.kind in ("cylinder", "capsule"):  # half = (radius, half length, radius) along ``axis``
            radius = hx * radial
            length = (hy + (hx if part.kind == "capsule" and not inside else 0.0)) * axial
            hx, hy, hz = {
                "x": (length, radius, radius),
                "y": (radius, length, radius),
                "z": (radius, radius, length),
            }[part.axis]
        else:
            hx, hy, hz = hx * radial, hy * axial, hz * radial
        x, z = np.array(obj.center[::2]) + lx * across + lz * front
        y = obj.center[1] + ly
        wx = abs(across[0]) * hx + abs(front[0]) * hz
        wz = abs(across[1]) * hx + abs(front[1]) * hz
        rows.append([x - wx, y - hy, z - wz, x + wx, y + hy, z + wz])
    return np.array(rows, dtype=np.float64).reshape(-1, 6)


def surface_points(obj: SceneObject) -> np.ndarray:
    """Points just inside the object's rendered parts, rows (x, y, z): the top centres, the centres,
    then the corners (top ones first) of the parts' inner boxes (:func:`part_boxes` ``inside``),
    pulled 10 % in."""
    boxes = part_boxes(obj, inside=True)
    centre, half = (boxes[:, :3] + boxes[:, 3:]) / 2, 0.9 * (boxes[:, 3:] - boxes[:, :3]) / 2
    corners = [[sx, sy, sz] for sy in (1, -1) for sx in (-1, 1) for sz in (-1, 1)]
    signs = np.array([[0, 1, 0], [0, 0, 0], *corners], dtype=np.float64)
    return (centre[None, :, :] + signs[:, None, :] * half[None, :, :]).reshape(-1, 3)


def _hits(start: np.ndarray, end: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Whether each 3-D segment start[i]-end[j] crosses any of ``boxes`` (rows as :func:`part_boxes`):
    a boolean (len(start), len(end)) grid, by slabs."""
    if not len(boxes):
        return np.zeros((len(start), len(end)), dtype=bool)
    p = start[:, None, None, :]
    d = (end[None, :, :] - start[:, None, :])[:, :, None, :]
    lo, hi = boxes[None, None, :, :3], boxes[None, None, :, 3:]
    with np.errstate(divide="ignore", invalid="ignore"):
        ta, tb = (lo - p) / d, (hi - p) / d
        flat = np.abs(d) < 1e-12
        inside = (p >= lo) & (p <= hi)
        t0 = np.where(flat, np.where(inside, -np.inf, np.inf), np.minimum(ta, tb)).max(axis=-1)
        t1 = np.where(flat, np.where(inside, np.inf, -np.inf), np.maximum(ta, tb)).min(axis=-1)
    return np.asarray((np.maximum(t0, 0.0) <= np.minimum(t1, 1.0)).any(axis=-1))


class Viewpoints:
    """Viewpoint cells of a house's objects for one body, with one geodesic field per target type."""

    def __init__(
        self,
        space: FreeSpace,
        objects: tuple[SceneObject, ...],
        camera_height: float,
        visibility_distance: float,
        measure: str = "axis",
    ) -> None:
        self.space = space
        self.objects = objects
        self.camera_height = camera_height
        self.reach = visibility_distance - VIEWPOINT_MARGIN
        self.measure = measure
        walls = [b for b in space.layout.boxes if b.kind == "wall"]
        self._walls = np.array([[b.x0, b.z0, b.x1, b.z1] for b in walls]).reshape(-1, 4)
        # furniture reaching above the camera hides what stands behind it
        self._tall = {o.id: o for o in objects if o.parent is None and o.y_range[1] >= camera_height}
        self._by_id = {o.id: o for o in objects}
        self._children: dict[str, list[SceneObject]] = {}
        for o in objects:
            if o.parent is not None:
                self._children.setdefault(o.parent, []).append(o)
        self._masks: dict[str, np.ndarray] = {}
        self._fields: dict[str, DistanceField | None] = {}

    def of_type(self, object_type: str) -> list[SceneObject]:
        return [o for o in self.objects if o.object_type == object_type]

    def mask(self, obj: SceneObject) -> np.ndarray:
        """Boolean grid of the object's viewpoints (navigable cells only)."""
        cached = self._masks.get(obj.id)
        if cached is not None:
            return cached
        space = self.space
        x0, z0, x1, z1 = obj.footprint
        y0, y1 = obj.y_range
        r0, c0 = space.to_cell(np.array([x0 - self.reach, z0 - self.reach]))
        r1, c1 = space.to_cell(np.array([x1 + self.reach, z1 + self.reach]))
        r0, c0 = max(r0, 0), max(c0, 0)
        r1, c1 = min(r1 + 1, space.shape[0]), min(c1 + 1, space.shape[1])
        out = np.zeros(space.shape, dtype=bool)
        window = space.navigable[r0:r1, c0:c1]
        rows, cols = np.nonzero(window)
        if rows.size:
            px = space.origin[0] + (cols + c0 + 0.5) * space.cell
            pz = space.origin[1] + (rows + r0 + 0.5) * space.cell
            qx, qz = np.clip(px, x0, x1), np.clip(pz, z0, z1)
            flat = np.hypot(qx - px, qz - pz)
            gap = flat
            if self.measure == "camera":
                dy = max(y0 - self.camera_height, 0.0, self.camera_height - y1)
                gap = np.sqrt(flat**2 + dy**2)
            near = gap <= self.reach
            occluders = [self._walls] + [
                np.array([t.footprint]) for t in self._tall.values() if t.id not in (obj.id, obj.parent)
            ]
            boxes = np.concatenate(occluders).reshape(-1, 4)
            seen = near.copy()
            seen[near] = ~_blocked(px[near], pz[near], qx[near], qz[near], boxes)
            parent = self._by_id.get(obj.parent) if obj.parent else None
            if parent is not None and parent.y_range[1] > self.camera_height:
                # looking up at a high surface: its near edge hides what lies below the sight line, so
                # only the object's top shows, and maybe only its far part: ask for the whole object
                # (out to its centre plus half its smaller side) near enough and above the line
                top = parent.y_range[1]
                px0, pz0, px1, pz1 = parent.footprint
                edge = np.hypot(px - np.clip(px, px0, px1), pz - np.clip(pz, pz0, pz1))
                far = np.hypot(px - obj.center[0], pz - obj.center[2]) + min(obj.extent) / 2
                sight = self.camera_height + (top - self.camera_height) * far / np.maximum(edge, 1e-6)
                seen &= (y1 > sight + 0.02) & (far <= self.reach)
            if obj.parent is not None and seen.any():
                seen[seen] = self._sight_on_receptacle(obj, px[seen], pz[seen])
            out[rows[seen] + r0, cols[seen] + c0] = True
        self._masks[obj.id] = out
        return out

    def _sight_on_receptacle(self, obj: SceneObject, px: np.ndarray, pz: np.ndarray) -> np.ndarray:
        """Whether a camera over each floor point sees one of ``obj``'s :func:`surface_points` past the
        parts of its receptacle and of the other objects on it (round parts by boxes inside them, so
        a view that only grazes one counts as clear)."""
        parent = self._by_id.get(obj.parent) if obj.parent else None
        others = [o for o in self._children.get(obj.parent or "", []) if o.id != obj.id]
        if parent is not None:
            others.append(parent)
        if not others:
            return np.ones(px.shape, dtype=bool)
        targets = surface_points(obj)
        boxes = np.concatenate([part_boxes(o, inside=True) for o in others])
        # a sight line never dips below the camera or its end: parts under both cannot hide anything
        boxes = boxes[boxes[:, 4] > min(self.camera_height, float(targets[:, 1].min()))]
        if not len(boxes):
            return np.ones(px.shape, dtype=bool)
        boxes = boxes + np.array([1e-3] * 3 + [-1e-3] * 3)  # grazing a face is no hit
        cameras = np.stack([px, np.full(px.shape, self.camera_height), pz], axis=1)
        hidden = np.ones(px.shape, dtype=bool)
        for point in targets:  # most views see the first points: test the rest only where needed
            pending = np.nonzero(hidden)[0]
            if not pending.size:
                break
            hidden[pending] = _hits(cameras[pending], point[None], boxes)[:, 0]
        return ~hidden

    def region(self, objects: list[SceneObject]) -> np.ndarray:
        """Viewpoints of any of ``objects`` on the main navigable island."""
        region = np.zeros(self.space.shape, dtype=bool)
        for obj in objects:
            region |= self.mask(obj)
        return region & (self.space.labels == self.space.largest_island)

    def field_of(self, objects: list[SceneObject]) -> DistanceField | None:
        """Geodesic distance to the nearest viewpoint of ``objects``; None when the agent can reach none."""
        region = self.region(objects)
        return DistanceField.to_region(self.space, region) if region.any() else None

    def field(self, object_type: str) -> DistanceField | None:
        """Geodesic distance to the type's nearest viewpoint (cached); None when none is reachable."""
        if object_type not in self._fields:
            self._fields[object_type] = self.field_of(self.of_type(object_type))
        return self._fields[object_type]

    def reachable_types(self, types: tuple[str, ...]) -> list[str]:
        """The types of ``types`` with at least one viewpoint on the main island."""
        return [t for t in types if self.of_type(t) and self.field(t) is not None]
