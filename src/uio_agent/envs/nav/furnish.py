"""Furnishing a room the ProcTHOR way: floor objects against its walls, small objects on receptacles.

Floor objects: types drawn with ``placement-annotations.json``'s room weights (plus the room weights
of ProcTHOR's ``television`` and ``floor-house-plant`` asset groups), each type once per room unless
annotated ``multiplePerRoom``, standing against a wall and facing into the room, clear of doors. Each
room type first gets its defining piece (a bed, a toilet, a fridge and a counter, a sofa and a TV
stand) when it fits, so ObjectNav targets such as Bed or Toilet are where one expects them.

Small objects follow ``procthor/generation/small_objects.py``: for every (receptacle, child type)
pair of ``receptacles.json`` whose child may appear in this room type, the child spawns when a
uniform draw is at most ``p + parent bias + child bias + house bias`` (house bias
``0.4·Beta(3.5, 1.9) − 0.3`` per house), each type at most once per room, resting on the receptacle's
top and written to its ``children``. Every TV stand carries a television (the ``television`` asset
group); bedroom and living-room dressers do with probability :data:`TV_ON_DRESSER`.

The generator works in the house JSON's own (Unity) frame: a THOR yaw θ faces ``(sin θ, cos θ)``
in ``(x, z)`` and the asset's x axis points to ``(cos θ, −sin θ)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from uio_agent.envs.nav._procthor_assets import (
    ASSET_GROUP_WEIGHTS,
    ASSETS,
    KINEMATIC,
    MULTIPLE_PER_ROOM,
    ON_FLOOR,
    RECEPTACLE_CHILDREN,
    ROOM_WEIGHTS,
    Asset,
)
from uio_agent.envs.nav.layout import WALL_THICKNESS

#: each room type's defining pieces, placed first
ANCHORS: dict[str, tuple[str, ...]] = {
    "Bedroom": ("Bed",),
    "Bathroom": ("Toilet",),
    "Kitchen": ("Fridge", "CounterTop"),
    "LivingRoom": ("Sofa", "TVStand"),
}
#: ProcTHOR's sampling biases (``small_objects.py``; its "Countertop" / "Basketball" keys match no type)
PARENT_BIAS_DEFAULT = 0.2
PARENT_BIAS = {"ShelvingUnit": 0.4}
CHILD_BIAS = {"HousePlant": 0.25, "SprayBottle": 0.2, "Bowl": 0.05}
#: house plants at least this tall stand on the floor, smaller ones on receptacles (``HOUSE_PLANT_MAX_HEIGHT``)
HOUSE_PLANT_MAX_HEIGHT = 0.75
#: receptacles taller than this hold nothing: their bounding-box top is not a reachable surface
MAX_SURFACE_HEIGHT = 1.3
TV_ON_DRESSER = 0.25
#: the part of a receptacle's top that holds objects, as fractions (x0, x1, z0, z1) of its size in its
#: own axes (z = front); the toilet's is its cistern at the back
TOP_REGION: dict[str, tuple[float, float, float, float]] = {"Toilet": (-0.5, 0.5, -0.5, -0.2)}
_WALL_GAP = 0.02  # metres between an object's back and the wall
_DOOR_GAP = 0.05  # metres kept between floor objects and door clearances
_CHILD_GAP = 0.03  # metres between objects on one receptacle

Rect = tuple[float, float, float, float]  # x0, z0, x1, z1

#: assetId -> (objectType, asset)
_BY_ID: dict[str, tuple[str, Asset]] = {a[0]: (t, a) for t, assets in ASSETS.items() for a in assets}


def house_bias(rng: np.random.Generator) -> float:
    """ProcTHOR's per-house small-object bias ``randomize_bias``: 0.4·Beta(3.5, 1.9) − 0.3."""
    return 0.4 * float(rng.beta(3.5, 1.9)) - 0.3


def assets_for(object_type: str, split: str, on_floor: bool = True) -> list[Asset]:
    """The type's assets of a split (plus split-less ones); house plants by floor or table size."""
    assets = [a for a in ASSETS[object_type] if a[4] in (split, "all")]
    if object_type == "HousePlant":
        assets = [a for a in assets if (a[2] >= HOUSE_PLANT_MAX_HEIGHT) == on_floor]
    return assets


def floor_weights(room_type: str) -> dict[str, float]:
    """Floor object type -> sampling weight in a room type."""
    weights = {t: float(w[room_type]) for t, w in ROOM_WEIGHTS.items() if t in ON_FLOOR and w.get(room_type)}
    tv = ASSET_GROUP_WEIGHTS["television"].get(room_type, 0)
    if tv:
        weights["TVStand"] = max(weights.get("TVStand", 0.0), float(tv))
    plant = ASSET_GROUP_WEIGHTS["floor-house-plant"].get(room_type, 0)
    if plant:
        weights["HousePlant"] = float(plant)
    weights.pop("Television", None)  # televisions come with their stands
    return weights


def _axes(yaw: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """(asset x axis, asset front) in Unity (x, z) for a THOR yaw in degrees."""
    t = math.radians(yaw)
    return (math.cos(t), -math.sin(t)), (math.sin(t), math.cos(t))


def _extent(asset: Asset, yaw: float) -> tuple[float, float]:
    _, sx, _, sz, _ = asset
    return (sz, sx) if round(yaw / 90) % 2 else (sx, sz)


def _overlap(a: Rect, b: Rect, gap: float) -> bool:
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap


def _box_in_cells(box: Rect, mask: np.ndarray, scale: float) -> bool:
    """Whether the box, grown by half a wall and a centimetre, lies on the room's own cells only."""
    grow = WALL_THICKNESS / 2 + 0.01
    x0, z0, x1, z1 = box[0] - grow, box[1] - grow, box[2] + grow, box[3] + grow
    if x0 < 0 or z0 < 0:
        return False
    c0, c1 = math.floor(x0 / scale), math.floor(x1 / scale)
    r0, r1 = math.floor(z0 / scale), math.floor(z1 / scale)
    if r1 >= mask.shape[0] or c1 >= mask.shape[1]:
        return False
    return bool(mask[r0 : r1 + 1, c0 : c1 + 1].all())


def _object(object_id: str, asset: Asset, x: float, y: float, z: float, yaw: float) -> dict[str, Any]:
    object_type = _BY_ID[asset[0]][0]
    return {
        "id": object_id,
        "assetId": asset[0],
        "position": {"x": round(x, 4), "y": round(y, 4), "z": round(z, 4)},
        "rotation": {"x": 0, "y": int(yaw) % 360, "z": 0},
        "kinematic": object_type in KINEMATIC,
    }


class RoomFurnisher:
    """Places the objects of one room; ``keep_out`` rectangles (door clearances) stay empty."""

    def __init__(
        self,
        rng: np.random.Generator,
        room: dict[str, Any],
        mask: np.ndarray,
        scale: float,
        keep_out: list[Rect],
        split: str,
    ) -> None:
        self.rng = rng
        self.room = room
        self.room_type = str(room["roomType"])
        self.mask = mask
        self.scale = scale
        self.split = split
        corners = [(p["x"], p["z"]) for p in room["floorPolygon"]]
        self.walls = [(corners[k], corners[(k + 1) % len(corners)]) for k in range(len(corners))]
        self.taken: list[Rect] = list(keep_out)
        self.objects: list[dict[str, Any]] = []
        self.types: set[str] = set()
        self._count = 0

    def _next_id(self, object_type: str) -> str:
        self._count += 1
        return f"{object_type}|{self.room['id'].split('|')[1]}|{self._count - 1}"

    def furnish(self, max_floor_objects: int, bias: float) -> list[dict[str, Any]]:
        """Floor objects (anchors first) up to ``max_floor_objects``, then small objects on them."""
        weights = floor_weights(self.room_type)
        for object_type in ANCHORS.get(self.room_type, ()):
            if len(self.objects) < max_floor_objects:
                self.place_on_floor(object_type)
        for _ in range(max(0, max_floor_objects - len(self.objects))):
            options = [t for t in weights if t in MULTIPLE_PER_ROOM or t not in self.types]
            if not options:
                break
            p = np.array([weights[t] for t in options])
            self.place_on_floor(options[int(self.rng.choice(len(options), p=p / p.sum()))])
        self.place_small_objects(bias)
        return self.objects

    def place_on_floor(self, object_type: str) -> None:
        """One object of ``object_type`` against a random wall of the room, facing into it (12 tries)."""
        assets = assets_for(object_type, self.split, on_floor=True)
        if not assets:
            return
        asset = assets[int(self.rng.integers(len(assets)))]
        _, sx, sy, sz, _ = asset
        for _try in range(12):
            (ax, az), (bx, bz) = self.walls[int(self.rng.integers(len(self.walls)))]
            length = math.hypot(bx - ax, bz - az)
            if length < sx + 0.16:
                continue
            ux, uz = (bx - ax) / length, (bz - az) / length
            nx, nz = -uz, ux  # room outlines are counter-clockwise in (x, z): the interior is on the left
            along = float(self.rng.uniform(sx / 2 + 0.08, length - sx / 2 - 0.08))
            depth = sz / 2 + WALL_THICKNESS / 2 + _WALL_GAP
            cx, cz = ax + ux * along + nx * depth, az + uz * along + nz * depth
            yaw = round(math.degrees(math.atan2(nx, nz))) % 360  # the front faces away from the wall
            ex, ez = _extent(asset, yaw)
            box = (cx - ex / 2, cz - ez / 2, cx + ex / 2, cz + ez / 2)
            if not _box_in_cells(box, self.mask, self.scale):
                continue
            if any(_overlap(box, other, _DOOR_GAP) for other in self.taken):
                continue
            self.taken.append(box)
            obj = _object(self._next_id(object_type), asset, cx, sy / 2, cz, yaw)
            obj["children"] = []
            self.objects.append(obj)
            self.types.add(object_type)
            on_dresser = object_type == "Dresser" and self.room_type in ("Bedroom", "LivingRoom")
            if object_type == "TVStand" or (
                on_dresser and "Television" not in self.types and self.rng.random() < TV_ON_DRESSER
            ):
                self.place_on_top(obj, "Television", centred=True)
            return

    def place_on_top(self, parent: dict[str, Any], object_type: str, centred: bool = False) -> None:
        """One object of ``object_type`` resting on ``parent``'s top (its top region), facing its way."""
        parent_type, (_, psx, psy, psz, _) = _BY_ID[parent["assetId"]]
        yaw = float(parent["rotation"]["y"])
        fx0, fx1, fz0, fz1 = TOP_REGION.get(parent_type, (-0.5, 0.5, -0.5, 0.5))
        (rx, rz), (fx, fz) = _axes(yaw)
        corners = [
            (
                parent["position"]["x"] + lx * psx * rx + lz * psz * fx,
                parent["position"]["z"] + lx * psx * rz + lz * psz * fz,
            )
            for lx in (fx0, fx1)
            for lz in (fz0, fz1)
        ]
        region = (
            min(c[0] for c in corners),
            min(c[1] for c in corners),
            max(c[0] for c in corners),
            max(c[1] for c in corners),
        )
        taken = [self._rect(child) for child in parent["children"]]
        fitting = [
            a
            for a in assets_for(object_type, self.split, on_floor=False)
            if _extent(a, yaw)[0] + 0.04 <= region[2] - region[0]
            and _extent(a, yaw)[1] + 0.04 <= region[3] - region[1]
        ]
        if not fitting:
            return
        asset = fitting[int(self.rng.integers(len(fitting)))]
        ex, ez = _extent(asset, yaw)
        for _try in range(1 if centred else 8):
            if centred:
                cx, cz = (region[0] + region[2]) / 2, (region[1] + region[3]) / 2
            else:
                cx = float(self.rng.uniform(region[0] + ex / 2 + 0.02, region[2] - ex / 2 - 0.02))
                cz = float(self.rng.uniform(region[1] + ez / 2 + 0.02, region[3] - ez / 2 - 0.02))
            box = (cx - ex / 2, cz - ez / 2, cx + ex / 2, cz + ez / 2)
            if any(_overlap(box, other, _CHILD_GAP) for other in taken):
                continue
            top = parent["position"]["y"] + psy / 2
            parent["children"].append(
                _object(self._next_id(object_type), asset, cx, top + asset[2] / 2, cz, yaw)
            )
            self.types.add(object_type)
            return

    def place_small_objects(self, bias: float) -> None:
        """ProcTHOR's small-object pass over this room's receptacles."""
        groups = []
        for obj in self.objects:
            parent_type, asset = _BY_ID[obj["assetId"]]
            if parent_type not in RECEPTACLE_CHILDREN or asset[2] > MAX_SURFACE_HEIGHT:
                continue
            for child, p in RECEPTACLE_CHILDREN[parent_type].items():
                if not ROOM_WEIGHTS[child].get(self.room_type):
                    continue
                threshold = (
                    p + PARENT_BIAS.get(parent_type, PARENT_BIAS_DEFAULT) + CHILD_BIAS.get(child, 0.0) + bias
                )
                if self.rng.random() <= threshold:
                    groups.append((obj, child))
        for k in self.rng.permutation(len(groups)):
            parent, child = groups[int(k)]
            if child not in self.types:
                self.place_on_top(parent, child)

    @staticmethod
    def _rect(obj: dict[str, Any]) -> Rect:
        ex, ez = _extent(_BY_ID[obj["assetId"]][1], float(obj["rotation"]["y"]))
        x, z = obj["position"]["x"], obj["position"]["z"]
        return x - ex / 2, z - ez / 2, x + ex / 2, z + ez / 2
