"""ProcTHOR house-JSON schema check: ids, cross references, walls against rooms, assets and placement.

ProcTHOR checks a house by loading it into Unity; offline, the same promises are checked on the JSON:
every room outline is walled by walls of that room, every wall has its other side (another room or
``exterior``), doors join the rooms and walls they name, every object uses an asset of the extracted
ProcTHOR database (:mod:`._procthor_assets`) with that asset's type and ``kinematic`` flag, stands
inside a room, and every child lies on its receptacle's top. Coordinates are checked in the JSON's
own (Unity) frame, where they are written.
"""

from __future__ import annotations

import math
from typing import Any

from uio_agent.envs.nav._procthor_assets import DOOR_HOLES, KINEMATIC
from uio_agent.envs.nav.layout import HouseFormatError, asset_index, json_xyz

SCHEMA_VERSION = "1.0.0"
ROOM_TYPES = ("Kitchen", "LivingRoom", "Bedroom", "Bathroom")
#: tolerance for coordinates written with 4 decimals (metres)
_EPS = 2e-3

_ASSETS = asset_index()


def _inside(x: float, z: float, polygon: list[tuple[float, float]]) -> bool:
    inside = False
    for (x0, z0), (x1, z1) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (z0 > z) != (z1 > z) and x < x0 + (z - z0) * (x1 - x0) / (z1 - z0):
            inside = not inside
    return inside


def _covered(
    edge: tuple[tuple[float, float], tuple[float, float]], pieces: list[tuple[float, float]]
) -> bool:
    """Whether intervals ``pieces`` (along the edge, from its first corner) cover the whole edge."""
    length = math.dist(*edge)
    cursor = 0.0
    for start, end in sorted(pieces):
        if start > cursor + _EPS:
            return False
        cursor = max(cursor, end)
    return cursor >= length - _EPS


def _on_edge(
    edge: tuple[tuple[float, float], tuple[float, float]], a: tuple[float, float], b: tuple[float, float]
) -> tuple[float, float] | None:
    """The interval of segment ``a-b`` along ``edge`` when both lie on the edge's line, else None."""
    (px, pz), (qx, qz) = edge
    length = math.dist(*edge)
    ux, uz = (qx - px) / length, (qz - pz) / length
    offsets = []
    for x, z in (a, b):
        if abs((x - px) * uz - (z - pz) * ux) > _EPS:
            return None
        offsets.append((x - px) * ux + (z - pz) * uz)
    lo, hi = max(min(offsets), 0.0), min(max(offsets), length)
    return (lo, hi) if hi > lo + _EPS else None


def check_house_schema(house: dict[str, Any], require_agent: bool = True) -> None:
    """Raise :class:`HouseFormatError` listing every way ``house`` departs from ProcTHOR's format
    (``require_agent=False`` for a house whose agent start is not chosen yet)."""
    problems: list[str] = []
    for key in ("rooms", "walls", "doors", "windows", "objects", "proceduralParameters", "metadata"):
        if key not in house:
            problems.append(f"missing top-level key {key!r}")
    if problems:
        raise HouseFormatError("house JSON is not in ProcTHOR's format: " + "; ".join(problems))
    if house["metadata"].get("schema") != SCHEMA_VERSION:
        problems.append(
            f"metadata.schema is {house['metadata'].get('schema')!r}, expected {SCHEMA_VERSION!r}"
        )

    polygons: dict[str, list[tuple[float, float]]] = {}
    for room in house["rooms"]:
        rid = str(room.get("id"))
        if not rid.startswith("room|") or rid in polygons:
            problems.append(f"room id {rid!r} is not a unique 'room|N'")
        if room.get("roomType") not in ROOM_TYPES:
            problems.append(f"room {rid}: roomType {room.get('roomType')!r} not in {ROOM_TYPES}")
        points = [json_xyz(p, f"room {rid}") for p in room.get("floorPolygon", [])]
        if len(points) < 3 or any(abs(p[1]) > _EPS for p in points):
            problems.append(f"room {rid}: floorPolygon needs >= 3 corners on the floor (y = 0)")
        polygons[rid] = [(p[0], p[2]) for p in points]

    walls: dict[str, dict[str, Any]] = {}
    segments: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {}
    for wall in house["walls"]:
        wid = str(wall.get("id"))
        if wid in walls:
            problems.append(f"wall id {wid!r} is not unique")
        walls[wid] = wall
        owner = wall.get("roomId")
        if owner != "exterior" and owner not in polygons:
            problems.append(f"wall {wid}: roomId {owner!r} is neither a room nor 'exterior'")
        corners = [json_xyz(p, f"wall {wid}") for p in wall.get("polygon", [])]
        bottom = [(x, z) for x, y, z in corners if abs(y) <= _EPS]
        if len(corners) != 4 or len(bottom) != 2:
            problems.append(f"wall {wid}: polygon must be 4 corners, two on the floor")
            continue
        segments[wid] = (bottom[0], bottom[1])
        parts = wid.split("|")
        if len(parts) == 6:
            try:
                named = ((float(parts[2]), float(parts[3])), (float(parts[4]), float(parts[5])))
            except ValueError:
                named = None
            if named is None or not all(math.dist(n, b) <= 0.01 for n, b in zip(named, bottom, strict=True)):
                problems.append(f"wall {wid}: its id does not name its bottom corners {bottom}")
    by_line: dict[tuple[float, ...], list[str]] = {}
    for wid, (a, b) in segments.items():
        line = tuple(round(v, 2) for v in (*min(a, b), *max(a, b)))
        by_line.setdefault(line, []).append(wid)
    for line, ids in by_line.items():
        owners = [walls[w].get("roomId") for w in ids]
        if len(ids) != 2 or len(set(owners)) != 2:
            problems.append(f"wall line {line}: expected one wall per side, got {ids}")
    for rid, polygon in polygons.items():
        for edge in zip(polygon, polygon[1:] + polygon[:1], strict=True):
            pieces = [
                iv
                for wid, (a, b) in segments.items()
                if walls[wid].get("roomId") == rid and (iv := _on_edge(edge, a, b)) is not None
            ]
            if not _covered(edge, pieces):
                problems.append(f"room {rid}: its outline edge {edge} is not walled by walls of the room")

    door_ids: set[str] = set()
    for door in house["doors"]:
        did = str(door.get("id"))
        if did in door_ids:
            problems.append(f"door id {did!r} is not unique")
        door_ids.add(did)
        if door.get("assetId") not in DOOR_HOLES:
            problems.append(f"door {did}: assetId {door.get('assetId')!r} is not a ProcTHOR doorway")
        for side in ("0", "1"):
            room, wall = door.get(f"room{side}"), door.get(f"wall{side}")
            if room not in polygons:
                problems.append(f"door {did}: room{side} {room!r} is not a room")
            if wall not in walls:
                problems.append(f"door {did}: wall{side} {wall!r} is not a wall")
        wall0, wall1 = walls.get(door.get("wall0")), walls.get(door.get("wall1"))
        if wall0 is None or wall1 is None:
            continue
        if wall0.get("roomId") != door.get("room0"):
            problems.append(f"door {did}: wall0 belongs to {wall0.get('roomId')!r}, not room0")
        if wall1.get("roomId") not in (door.get("room1"), "exterior"):
            problems.append(f"door {did}: wall1 belongs to {wall1.get('roomId')!r}, not room1")
        a0, b0 = segments.get(str(wall0["id"]), ((0, 0), (0, 0)))
        a1, b1 = segments.get(str(wall1["id"]), ((1, 1), (1, 1)))
        if {tuple(round(v, 2) for v in p) for p in (a0, b0)} != {
            tuple(round(v, 2) for v in p) for p in (a1, b1)
        }:
            problems.append(f"door {did}: wall0 and wall1 are not the two sides of one wall")
        hole = door.get("holePolygon")
        if not isinstance(hole, list) or len(hole) != 2:
            problems.append(f"door {did}: holePolygon must be [min, max]")
            continue
        (hx0, hy0, _), (hx1, hy1, _) = (json_xyz(p, f"door {did}") for p in hole)
        height = max(json_xyz(p, f"wall {wall0['id']}")[1] for p in wall0["polygon"])
        if not (-_EPS <= hx0 < hx1 <= math.dist(a0, b0) + _EPS and -_EPS <= hy0 < hy1 <= height + _EPS):
            problems.append(f"door {did}: hole {hole} does not fit in its wall")

    seen: set[str] = set()

    def check_objects(objects: list[dict[str, Any]], parent: dict[str, Any] | None) -> None:
        for obj in objects:
            oid = str(obj.get("id"))
            if oid in seen:
                problems.append(f"object id {oid!r} is not unique")
            seen.add(oid)
            missing = [k for k in ("id", "assetId", "position", "rotation", "kinematic") if k not in obj]
            if missing:
                problems.append(f"object {oid}: missing {missing}")
                continue
            if obj["assetId"] not in _ASSETS:
                problems.append(
                    f"object {oid}: assetId {obj['assetId']!r} is not in ProcTHOR's asset database"
                )
                continue
            object_type, (_, sy, _) = _ASSETS[obj["assetId"]]
            head = oid.split("|")[0]  # ProcTHOR writes "room|n", "small|room|n"; we write "Type|room|n"
            if head.isalpha() and head not in (object_type, "small"):
                problems.append(f"object {oid}: id names a type other than its asset's {object_type!r}")
            if obj["kinematic"] is not (object_type in KINEMATIC):
                problems.append(
                    f"object {oid}: kinematic should be {object_type in KINEMATIC} for {object_type}"
                )
            x, y, z = json_xyz(obj["position"], f"object {oid}")
            if not any(_inside(x, z, polygon) for polygon in polygons.values()):
                problems.append(f"object {oid}: position ({x}, {z}) is outside every room")
            if parent is not None:
                px, py, pz = json_xyz(parent["position"], f"object {parent['id']}")
                _, (psx, psy, psz) = _ASSETS[parent["assetId"]]
                if round(float(parent["rotation"].get("y", 0)) / 90) % 2:
                    psx, psz = psz, psx
                on_top = abs((y - sy / 2) - (py + psy / 2)) <= 0.01
                if not (on_top and abs(x - px) <= psx / 2 and abs(z - pz) <= psz / 2):
                    problems.append(f"object {oid}: does not rest on the top of {parent['id']}")
            children = obj.get("children", [])
            if not isinstance(children, list):
                problems.append(f"object {oid}: children must be a list")
            else:
                check_objects(children, obj)

    check_objects(house["objects"], None)
    agent = house["metadata"].get("agent")
    complete = isinstance(agent, dict) and {"position", "rotation", "horizon", "standing"} <= set(agent)
    if require_agent and not complete:
        problems.append("metadata.agent needs position, rotation, horizon and standing")
    if problems:
        raise HouseFormatError(
            f"house JSON departs from ProcTHOR's format in {len(problems)} ways: " + "; ".join(problems[:8])
        )
