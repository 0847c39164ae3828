"""ProcTHOR house JSON -> typed primitives (floors, wall pieces, door holes, object boxes).

One parser feeds both the collision geometry and the renderer, so what the agent bumps into is
exactly what the camera sees. The house JSON is written in Unity's left-handed frame; everything
parsed here is in our right-handed (habitat) frame, z negated (:func:`thor.unity_to_ours`), so a
ProcTHOR house looks the same here as in AI2-THOR (see ``docs/navigation.md``). Walls in the JSON
are zero-thickness double-sided planes; they get a physical thickness here, centred on the wall line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from uio_agent.envs.nav._procthor_assets import ASSETS
from uio_agent.envs.nav.thor import unity_to_ours

#: physical wall thickness in metres (ProcTHOR walls are planes; THOR's colliders are thin boxes).
WALL_THICKNESS = 0.1


class HouseFormatError(ValueError):
    """A house dict does not follow the ProcTHOR house-JSON schema this package reads."""


@dataclass(frozen=True)
class Box:
    """An axis-aligned box: footprint ``[x0, x1] x [z0, z1]``, heights ``[y0, y1]``."""

    x0: float
    z0: float
    x1: float
    z1: float
    y0: float
    y1: float
    kind: str  # "wall" | "object"
    name: str  # wall id or object id
    material: str  # material name or asset id; the renderer derives its look from it


@dataclass(frozen=True)
class Room:
    id: str
    room_type: str
    polygon: tuple[tuple[float, float], ...]  # (x, z) corners
    floor_material: str


@dataclass(frozen=True)
class Door:
    id: str
    asset_id: str
    room0: str
    room1: str
    center: tuple[float, float]  # (x, z) of the hole's centre on the wall line
    normal: tuple[float, float]  # unit (x, z) across the wall
    width: float
    height: float
    openness: float


@dataclass(frozen=True)
class SceneObject:
    """A placed object (floor object or a receptacle's child), in our frame.

    ``size`` is the asset's bounding box in its own axes (x across its front, y up, z front to back);
    ``rotation_y`` is the house JSON's THOR yaw in degrees (a multiple of 90), turning the front,
    local +z, to ``forward``.
    """

    id: str
    object_type: str
    asset_id: str
    center: tuple[float, float, float]
    size: tuple[float, float, float]
    rotation_y: float
    parent: str | None

    @property
    def forward(self) -> tuple[float, float]:
        """Unit ``(x, z)`` our-frame direction the object's front faces (Unity's (sin θ, cos θ), z negated)."""
        theta = math.radians(self.rotation_y)
        return round(math.sin(theta), 12), round(-math.cos(theta), 12)

    @property
    def extent(self) -> tuple[float, float]:
        """World footprint sizes along x and z (the asset's x and z swap at 90 and 270 degrees)."""
        sx, _, sz = self.size
        return (sz, sx) if round(self.rotation_y / 90.0) % 2 else (sx, sz)

    @property
    def footprint(self) -> tuple[float, float, float, float]:
        """``(x0, z0, x1, z1)`` of the bounding box on the floor."""
        ex, ez = self.extent
        x, _, z = self.center
        return x - ex / 2, z - ez / 2, x + ex / 2, z + ez / 2

    @property
    def y_range(self) -> tuple[float, float]:
        return self.center[1] - self.size[1] / 2, self.center[1] + self.size[1] / 2

    def gap(self, point: Any) -> float:
        """Horizontal distance from floor point ``(x, z)`` to the footprint (0 inside it)."""
        x0, z0, x1, z1 = self.footprint
        dx = max(x0 - float(point[0]), 0.0, float(point[0]) - x1)
        dz = max(z0 - float(point[1]), 0.0, float(point[1]) - z1)
        return math.hypot(dx, dz)


@dataclass(frozen=True)
class HouseLayout:
    rooms: tuple[Room, ...]
    boxes: tuple[Box, ...]
    doors: tuple[Door, ...]
    objects: tuple[SceneObject, ...]
    ceiling_height: float
    ceiling_material: str
    bounds: tuple[float, float, float, float]  # x0, z0, x1, z1 of all floors


def asset_index() -> dict[str, tuple[str, tuple[float, float, float]]]:
    """assetId -> (objectType, bounding-box size (x, y, z) in metres) for every asset we know."""
    return {
        asset_id: (object_type, (sx, sy, sz))
        for object_type, assets in ASSETS.items()
        for asset_id, sx, sy, sz, _split in assets
    }


def asset_sizes() -> dict[str, tuple[float, float, float]]:
    """assetId -> bounding-box size (x, y, z) in metres for every asset we know."""
    return {asset_id: size for asset_id, (_, size) in _ASSET_INDEX.items()}


_ASSET_INDEX = asset_index()


def json_xyz(point: Any, where: str) -> tuple[float, float, float]:
    """A house-JSON point ``{x, y, z}`` as floats, in the JSON's own (Unity) frame."""
    try:
        return float(point["x"]), float(point["y"]), float(point["z"])
    except (KeyError, TypeError, ValueError) as exc:
        raise HouseFormatError(f"{where}: expected a point {{'x','y','z'}}, got {point!r}") from exc


def _xyz(point: Any, where: str) -> tuple[float, float, float]:
    """A house-JSON point in our frame."""
    return unity_to_ours(*json_xyz(point, where))


def wall_segment(wall: dict[str, Any]) -> tuple[tuple[float, float], tuple[float, float], float, float]:
    """The wall's bottom edge ``(x0, z0) -> (x1, z1)`` in our frame and its ``y`` range, from its polygon."""
    polygon = wall.get("polygon")
    if not isinstance(polygon, list) or len(polygon) < 4:
        raise HouseFormatError(f"wall {wall.get('id')!r}: 'polygon' must list 4 corners")
    points = [_xyz(p, f"wall {wall.get('id')!r}") for p in polygon]
    ys = [p[1] for p in points]
    y0, y1 = min(ys), max(ys)
    bottom = [p for p in points if abs(p[1] - y0) < 1e-6]
    if len(bottom) < 2:
        raise HouseFormatError(f"wall {wall.get('id')!r}: polygon has no two bottom corners")
    (ax, _, az), (bx, _, bz) = bottom[0], bottom[1]
    if abs(ax - bx) > 1e-6 and abs(az - bz) > 1e-6:
        raise HouseFormatError(f"wall {wall.get('id')!r}: only axis-aligned walls are supported")
    return (ax, az), (bx, bz), y0, y1


def scene_object(obj: dict[str, Any], parent: str | None = None) -> SceneObject:
    """One house-JSON object (its ``children`` aside) in our frame, sized by its asset."""
    asset_id = obj.get("assetId")
    if asset_id not in _ASSET_INDEX:
        raise HouseFormatError(
            f"object {obj.get('id')!r}: unknown assetId {asset_id!r}; only the ProcTHOR assets in "
            "uio_agent.envs.nav._procthor_assets have known sizes"
        )
    object_type, size = _ASSET_INDEX[asset_id]
    center = _xyz(obj.get("position"), f"object {obj.get('id')!r}")
    rotation = obj.get("rotation", {})
    yaw = float(rotation.get("y", 0.0) if isinstance(rotation, dict) else 0.0) % 360.0
    quarter = round(yaw / 90.0)
    if abs(yaw - 90.0 * quarter) > 1e-3:
        raise HouseFormatError(f"object {obj.get('id')!r}: yaw {yaw} is not a multiple of 90 degrees")
    return SceneObject(
        id=str(obj.get("id")),
        object_type=object_type,
        asset_id=str(asset_id),
        center=center,
        size=size,
        rotation_y=float(90 * (quarter % 4)),
        parent=parent,
    )


def iter_objects(objects: list[dict[str, Any]], parent: str | None = None) -> list[SceneObject]:
    """Every object of a house-JSON ``objects`` list, receptacles before their ``children``."""
    out: list[SceneObject] = []
    for obj in objects:
        placed = scene_object(obj, parent)
        out.append(placed)
        children = obj.get("children") or []
        if not isinstance(children, list):
            raise HouseFormatError(f"object {placed.id!r}: 'children' must be a list of objects")
        out += iter_objects(children, placed.id)
    return out


def parse_house(house: dict[str, Any], wall_thickness: float = WALL_THICKNESS) -> HouseLayout:
    """Parse a ProcTHOR house dict (schema 1.0.0 door fields) into rooms, boxes, door holes and objects,
    in our frame."""
    for key in ("rooms", "walls", "doors", "objects", "proceduralParameters"):
        if key not in house:
            raise HouseFormatError(f"house JSON lacks the top-level key {key!r}")
    rooms: list[Room] = []
    xs: list[float] = []
    zs: list[float] = []
    for room in house["rooms"]:
        corners = tuple(
            (p[0], p[2]) for p in (_xyz(q, f"room {room.get('id')!r}") for q in room["floorPolygon"])
        )
        if len(corners) < 3:
            raise HouseFormatError(f"room {room.get('id')!r}: floorPolygon needs at least 3 corners")
        xs += [c[0] for c in corners]
        zs += [c[1] for c in corners]
        floor = room.get("floorMaterial", {})
        rooms.append(
            Room(
                id=str(room["id"]),
                room_type=str(room.get("roomType", "")),
                polygon=corners,
                floor_material=str(floor.get("name", "") if isinstance(floor, dict) else floor),
            )
        )
    if not rooms:
        raise HouseFormatError("house JSON has no rooms")

    walls = {w["id"]: w for w in house["walls"]}
    holes: dict[str, list[tuple[float, float, float]]] = {}  # wall id -> (start, end, top) along it
    doors: list[Door] = []
    for door in house["doors"]:
        hole = door.get("holePolygon")
        if not isinstance(hole, list) or len(hole) != 2:
            raise HouseFormatError(
                f"door {door.get('id')!r}: needs 'holePolygon' [min, max] (schema 1.0.0); upgrade 0.0.1 houses "
                "with procthor.utils.upgrade_house_version"
            )
        # wall-local: x along the wall from its first corner, y up (the same in either frame)
        (hx0, _, _), (hx1, hy1, _) = (json_xyz(p, f"door {door.get('id')!r}") for p in hole)
        wall_id = door.get("wall0")
        if wall_id not in walls:
            raise HouseFormatError(f"door {door.get('id')!r}: wall0 {wall_id!r} is not a wall of the house")
        (ax, az), (bx, bz), _, _ = wall_segment(walls[wall_id])
        length = math.hypot(bx - ax, bz - az)
        ux, uz = (bx - ax) / length, (bz - az) / length
        openness = float(door.get("openness", 1.0))
        if openness > 0:
            for wid in (door.get("wall0"), door.get("wall1")):
                if wid in walls:
                    holes.setdefault(str(wid), []).append(
                        _hole_along(
                            walls[str(wid)],
                            (ax + ux * hx0, az + uz * hx0),
                            (ax + ux * hx1, az + uz * hx1),
                            hy1,
                        )
                    )
        mid = (hx0 + hx1) / 2
        doors.append(
            Door(
                id=str(door["id"]),
                asset_id=str(door.get("assetId", "")),
                room0=str(door.get("room0", "")),
                room1=str(door.get("room1", "")),
                center=(ax + ux * mid, az + uz * mid),
                normal=(-uz, ux),
                width=hx1 - hx0,
                height=hy1,
                openness=openness,
            )
        )

    boxes: list[Box] = []
    seen: set[tuple[float, float, float, float]] = set()
    half = wall_thickness / 2
    for wall in house["walls"]:
        (ax, az), (bx, bz), y0, y1 = wall_segment(wall)
        line = (round(min(ax, bx), 4), round(min(az, bz), 4), round(max(ax, bx), 4), round(max(az, bz), 4))
        if line in seen:  # walls are double-sided: one JSON entry per side
            continue
        seen.add(line)
        if wall.get("empty", False):
            continue
        material = wall.get("material", {})
        name = str(material.get("name", "") if isinstance(material, dict) else material)
        length = math.hypot(bx - ax, bz - az)
        cuts = sorted(holes.get(wall["id"], []))
        pieces: list[tuple[float, float, float, float]] = []  # along-wall start, end, y0, y1
        cursor = 0.0
        for start, end, top in cuts:
            pieces.append((cursor, start, y0, y1))
            pieces.append((start, end, top, y1))  # the lintel above the hole
            cursor = end
        pieces.append((cursor, length, y0, y1))
        ux, uz = (bx - ax) / length, (bz - az) / length
        for start, end, p0, p1 in pieces:
            if end - start < 1e-6 or p1 - p0 < 1e-6:
                continue
            sx, sz = ax + ux * start, az + uz * start
            ex, ez = ax + ux * end, az + uz * end
            # extend along the wall by half a thickness so perpendicular walls close their corners
            ext_s = half if start == 0.0 else 0.0
            ext_e = half if end == length else 0.0
            sx, sz, ex, ez = sx - ux * ext_s, sz - uz * ext_s, ex + ux * ext_e, ez + uz * ext_e
            boxes.append(
                Box(
                    x0=min(sx, ex) - abs(uz) * half,
                    z0=min(sz, ez) - abs(ux) * half,
                    x1=max(sx, ex) + abs(uz) * half,
                    z1=max(sz, ez) + abs(ux) * half,
                    y0=p0,
                    y1=p1,
                    kind="wall",
                    name=str(wall["id"]),
                    material=name,
                )
            )
    objects = tuple(iter_objects(house["objects"]))
    for obj in objects:
        x0, z0, x1, z1 = obj.footprint
        y0, y1 = obj.y_range
        boxes.append(Box(x0, z0, x1, z1, y0, y1, kind="object", name=obj.id, material=obj.asset_id))

    params = house["proceduralParameters"]
    ceiling = max((b.y1 for b in boxes if b.kind == "wall"), default=2.5)
    ceiling_material = params.get("ceilingMaterial", {})
    return HouseLayout(
        rooms=tuple(rooms),
        boxes=tuple(boxes),
        doors=tuple(doors),
        objects=objects,
        ceiling_height=ceiling,
        ceiling_material=str(
            ceiling_material.get("name", "") if isinstance(ceiling_material, dict) else ceiling_material
        ),
        bounds=(min(xs), min(zs), max(xs), max(zs)),
    )


def _hole_along(
    wall: dict[str, Any], p: tuple[float, float], q: tuple[float, float], top: float
) -> tuple[float, float, float]:
    """A door hole given by its world end points, as (start, end, top) along ``wall``'s own direction."""
    (ax, az), (bx, bz), _, _ = wall_segment(wall)
    length = math.hypot(bx - ax, bz - az)
    ux, uz = (bx - ax) / length, (bz - az) / length
    s = (p[0] - ax) * ux + (p[1] - az) * uz
    e = (q[0] - ax) * ux + (q[1] - az) * uz
    return max(0.0, min(s, e)), min(length, max(s, e)), top
