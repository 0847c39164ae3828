"""The compiled MuJoCo model of one task: table, cameras, UR5 + suction cup, and an object pool.

MuJoCo cannot add bodies to a compiled model, so each task's model holds a pool of *slots*: for each
object the task may spawn, as many copies as one episode can need, at each size variant. Unused
slots are parked far away (no contacts, gravity compensated, in a hidden geom group); an episode
activates slots, sets their pose and material, and everything else stays compiled once.

Geom groups: 0 scene visuals, 1 arm and cup visuals (hidden with ``hide_arm_rgb``), 2 the white
backdrop of prompt images, 3 collision geoms (never drawn), 4 parked visuals (never drawn).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache

import mujoco
import numpy as np

from uio_agent.envs.tabletop.arm import arm_xml
from uio_agent.envs.tabletop.catalog import OBJECTS, TEXTURES, VISUAL_ONLY
from uio_agent.envs.tabletop.shapes import BoxPart, Geometry, Mesh, build_geometry
from uio_agent.envs.tabletop.textures import TEXTURE_SIZE, texture_image

GROUP_SCENE, GROUP_ARM, GROUP_BACKDROP, GROUP_COLLISION, GROUP_PARKED = 0, 1, 2, 3, 4
#: Physics step (s): 250 Hz with implicit-fast integration, elliptic cones and multi-point convex
#: contacts keeps flat shapes stable and carried objects on track (VIMA: 240 Hz).
TIMESTEP = 0.004
#: Workspace bounds (m), VIMA's.
BOUNDS = np.array([[0.25, 0.75], [-0.5, 0.5], [0.0, 0.3]])
#: Oracle heightmap pixel size (m) and shape (rows along y, columns along x), VIMA's.
PIX_SIZE = 0.003125
ORACLE_SHAPE = (320, 160)
#: Image size of the agent cameras.
IMAGE_SIZE = (128, 256)
#: Number of size variants compiled for objects whose VIMA size is sampled from a range.
SIZE_VARIANTS = 3
#: Masses (kg) other than VIMA's 0.1: block 0.01 (VIMA's). The small swept block is 0.01 instead of
#: VIMA's 0.001 (a stiffer contact ratio against the spatula; pushes are what matters, not its weight).
MASSES = {"block": 0.01, "small block": 0.01}
#: The spatula blade (half sizes, m): 5 mm thick along the push, 5 cm wide, 6 cm tall (VIMA's blade).
BLADE_HALF = (0.0025, 0.025, 0.03)


@dataclass(frozen=True)
class SlotSpec:
    """One pooled object: its catalogue name, size parameters, and copy index."""

    name: str
    size: tuple[float, float, float]
    copy: int

    @property
    def fixed(self) -> bool:
        return OBJECTS[self.name].fixed


@dataclass
class Slot:
    """A compiled slot: ids into the model, filled in by :func:`build_scene`."""

    spec: SlotSpec
    geometry: Geometry
    body: int = -1
    qpos_adr: int = -1
    qvel_adr: int = -1
    weld: int = -1
    visual_geoms: list[int] = field(default_factory=list)
    collision_geoms: list[int] = field(default_factory=list)
    park_position: np.ndarray = field(default_factory=lambda: np.zeros(3))

    @property
    def rest_z(self) -> float:
        g = self.geometry
        return g.half_extents[2] if g.rest_z is None else g.rest_z


def size_variants(name: str) -> list[tuple[float, float, float]]:
    """Sizes compiled for ``name``: its fixed size, or SIZE_VARIANTS evenly spaced over its range."""
    rng = OBJECTS[name].size_range
    lo, hi = np.asarray(rng.low), np.asarray(rng.high)
    if np.allclose(lo, hi):
        return [tuple(float(v) for v in lo)]  # type: ignore[list-item]
    return [tuple(float(v) for v in lo + (hi - lo) * t) for t in np.linspace(0, 1, SIZE_VARIANTS)]  # type: ignore[misc]


def nearest_variant(name: str, size: np.ndarray) -> tuple[float, float, float]:
    variants = size_variants(name)
    return variants[int(np.argmin([np.linalg.norm(np.asarray(v) - size) for v in variants]))]


def _fmt(a: np.ndarray) -> str:
    return " ".join(f"{v:.6g}" for v in np.asarray(a).reshape(-1))


def _mesh_xml(name: str, mesh: Mesh, with_uv: bool) -> str:
    uv = f' texcoord="{_fmt(mesh.texcoords)}"' if with_uv else ""
    return f'<mesh name="{name}" vertex="{_fmt(mesh.vertices)}" face="{_fmt(mesh.faces)}"{uv}/>'


def _box_xml(name: str, b: BoxPart, attrs: str) -> str:
    half = b.yaw / 2
    quat = f"{math.cos(half):.8f} 0 0 {math.sin(half):.8f}"
    return f'<geom name="{name}" type="box" pos="{_fmt(np.asarray(b.center))}" size="{_fmt(np.asarray(b.half))}" quat="{quat}" {attrs}/>'


def _material_name(texture: str) -> str:
    return "mat_" + texture.replace(" ", "_")


def _texture_assets() -> str:
    parts = []
    for name, spec in TEXTURES.items():
        if spec.color_value is None:
            tex = "tex_" + name.replace(" ", "_")
            parts.append(
                f'<texture name="{tex}" type="2d" builtin="flat" width="{TEXTURE_SIZE}" height="{TEXTURE_SIZE}" rgb1="1 1 1"/>'
            )
            parts.append(
                f'<material name="{_material_name(name)}" texture="{tex}" specular="0" shininess="0"/>'
            )
        else:
            rgba = _fmt(np.asarray([*spec.color_value, 1.0]))
            parts.append(
                f'<material name="{_material_name(name)}" rgba="{rgba}" specular="0" shininess="0"/>'
            )
    parts.append('<material name="mat_gray" rgba="0.7294 0.6902 0.6745 1" specular="0" shininess="0"/>')
    return "\n".join(parts)


def _slot_xml(i: int, slot: Slot) -> tuple[str, str]:
    """(assets, body) XML for slot ``i``, parked at its park position."""
    g = slot.geometry
    fixed = slot.spec.fixed
    visual_only = slot.spec.name in VISUAL_ONLY
    assets = []
    geoms = []
    vis = f'group="{GROUP_PARKED}" contype="0" conaffinity="0" material="mat_red"'
    # compiled colliding (MuJoCo builds convex-hull data only for colliding meshes), parked at runtime
    col = f'group="{GROUP_COLLISION}" contype="1" conaffinity="1" friction="1 0.005 0.0001" rgba="1 0 0 0.5"'
    if g.visual is not None:
        assets.append(_mesh_xml(f"s{i}_vis", g.visual, True))
        geoms.append(f'<geom name="s{i}_v" type="mesh" mesh="s{i}_vis" {vis}/>')
    else:
        for k, b in enumerate(g.boxes):
            if b.visual:
                geoms.append(_box_xml(f"s{i}_v{k}", b, vis))
    for k, piece in enumerate(g.hull_pieces):
        assets.append(_mesh_xml(f"s{i}_c{k}", piece, False))
        geoms.append(f'<geom name="s{i}_c{k}" type="mesh" mesh="s{i}_c{k}" {col}/>')
    if slot.spec.name == "small block":  # VIMA's small.urdf: friction 0.5 (pybullet's product with 1.0)
        col = col.replace('friction="1 0.005 0.0001"', 'friction="0.5 0.005 0.0001" priority="1"')
    for k, b in enumerate(g.boxes if not visual_only else []):
        geoms.append(_box_xml(f"s{i}_b{k}", b, col))
    hx, hy, hz = g.half_extents
    mass = MASSES.get(slot.spec.name, 0.1)
    # VIMA's kitting URDF scales inertia by 3; a box of the bounding size with that factor.
    inertia = 3.0 * mass / 3.0 * np.array([hy**2 + hz**2, hx**2 + hz**2, hx**2 + hy**2])
    inertial = "" if fixed else f'<inertial pos="0 0 0" mass="{mass}" diaginertia="{_fmt(inertia)}"/>'
    joint = "" if fixed else f'<freejoint name="s{i}_free"/>'
    gravcomp = "" if fixed else ' gravcomp="1"'
    body = f'<body name="slot{i}" pos="{_fmt(slot.park_position)}"{gravcomp}>{joint}{inertial}{"".join(geoms)}</body>'
    return "\n".join(assets), body


def _spatula_xml() -> str:
    bx, by, bz = BLADE_HALF
    return f"""
    <body name="spatula" mocap="true" pos="0.487 0.109 0.6">
      <geom name="spatula_base" type="cylinder" size="0.038 0.005" pos="0 0 0.1" group="{GROUP_ARM}"
            contype="0" conaffinity="0" rgba="0.3 0.3 0.3 1"/>
      <geom name="spatula_blade" type="box" size="{bx} {by} {bz}" pos="0 0 {bz}" group="{GROUP_ARM}"
            contype="1" conaffinity="1" friction="0.5 0.005 0.0001" rgba="0.15 0.15 0.15 1"/>
    </body>"""


def scene_xml(slots: list[Slot], spatula: bool = False) -> str:
    slot_assets, slot_bodies, welds = [], [], []
    for i, slot in enumerate(slots):
        a, b = _slot_xml(i, slot)
        slot_assets.append(a)
        slot_bodies.append(b)
        if not slot.spec.fixed:
            welds.append(
                f'<weld name="grip{i}" body1="suction" body2="slot{i}" active="false" solref="0.01 1"/>'
            )
    s45 = math.sqrt(0.5)
    return f"""
<mujoco model="tabletop">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="{TIMESTEP}" integrator="implicitfast" cone="elliptic" impratio="10">
    <flag multiccd="enable"/>
  </option>
  <statistic extent="2" center="0.5 0 0"/>
  <visual>
    <global offwidth="320" offheight="320"/>
    <quality offsamples="0" shadowsize="0"/>
    <headlight ambient="0.55 0.55 0.55" diffuse="0.4 0.4 0.4" specular="0 0 0"/>
    <map znear="0.01" zfar="5"/>
  </visual>
  <asset>
    {_texture_assets()}
    <material name="mat_ground" rgba="0.94 0.94 0.94 1" specular="0" shininess="0"/>
    <material name="mat_workspace" rgba="0.2 0.2 0.2 1" specular="0" shininess="0"/>
    <material name="mat_backdrop" rgba="1 1 1 1" emission="1" specular="0" shininess="0"/>
    {"".join(slot_assets)}
  </asset>
  <worldbody>
    <geom name="ground" type="plane" size="4 4 0.1" pos="0.5 0 -0.001" material="mat_ground" group="{GROUP_SCENE}"
          contype="0" conaffinity="0"/>
    <geom name="workspace" type="box" size="0.25 0.5 0.0005" pos="0.5 0 -0.0005" material="mat_workspace"
          group="{GROUP_SCENE}" contype="0" conaffinity="0"/>
    <geom name="floor" type="plane" size="4 4 0.1" group="{GROUP_COLLISION}" rgba="0 0 0 0.5" friction="1 0.005 0.0001"/>
    <geom name="backdrop" type="plane" size="4 4 0.1" pos="0.5 0 -0.2" material="mat_backdrop" group="{GROUP_BACKDROP}"
          contype="0" conaffinity="0"/>
    <camera name="front" pos="{0.41 + 1.5 * s45:.6f} 0 {1.5 * s45:.6f}" xyaxes="0 1 0 {-s45:.8f} 0 {s45:.8f}"
            projection="orthographic" fovy="0.509"/>
    <camera name="top" pos="0.5 0 1.5" xyaxes="0 1 0 -1 0 0" projection="orthographic" fovy="0.51"/>
    <camera name="oracle" pos="0.5 0 1.5" xyaxes="1 0 0 0 1 0" projection="orthographic" fovy="1.0"/>
    {arm_xml(GROUP_ARM)}
    <body name="suction" mocap="true" pos="0.487 0.109 0.352">
      <geom name="suction_base" type="cylinder" size="0.038 0.005" pos="0 0 0.075" group="{GROUP_ARM}"
            contype="0" conaffinity="0" rgba="0.3 0.3 0.3 1"/>
      <geom name="suction_head" type="cylinder" size="0.01 0.035" pos="0 0 0.035" group="{GROUP_ARM}"
            contype="0" conaffinity="0" rgba="0.15 0.15 0.15 1"/>
    </body>
    {_spatula_xml() if spatula else ""}
    {"".join(slot_bodies)}
  </worldbody>
  <equality>{"".join(welds)}</equality>
</mujoco>"""


@dataclass
class Scene:
    """A compiled task model with its slot table and the texture pixels written in."""

    model: mujoco.MjModel
    slots: list[Slot]
    materials: dict[str, int]

    def free_slots(self, name: str, size: tuple[float, float, float]) -> list[int]:
        return [i for i, s in enumerate(self.slots) if s.spec.name == name and s.spec.size == size]

    def nearest_size(self, name: str, size: np.ndarray) -> tuple[float, float, float]:
        """The compiled size of ``name`` closest to ``size`` (sizes are snapped to compiled variants)."""
        sizes = sorted({s.spec.size for s in self.slots if s.spec.name == name})
        if not sizes:
            raise RuntimeError(f"no slot for {name!r}: the task's pool does not hold it")
        return sizes[int(np.argmin([np.linalg.norm(np.asarray(v) - size) for v in sizes]))]


def _fill_textures(model: mujoco.MjModel) -> None:
    for name, spec in TEXTURES.items():
        if spec.color_value is not None:
            continue
        tid = model.texture("tex_" + name.replace(" ", "_")).id
        adr = model.tex_adr[tid]
        n = model.tex_width[tid] * model.tex_height[tid] * model.tex_nchannel[tid]
        img = texture_image(name)
        if model.tex_nchannel[tid] == 4:
            img = np.concatenate([img, np.full((*img.shape[:2], 1), 255, np.uint8)], axis=-1)
        model.tex_data[adr : adr + n] = img[::-1].reshape(-1)  # OpenGL rows start at the bottom


@cache
def _compiled(
    specs: tuple[tuple[str, tuple[float, float, float], int], ...], spatula: bool
) -> tuple[str, list[Slot]]:
    slots = [Slot(SlotSpec(n, s, c), build_geometry(n, s)) for n, s, c in specs]
    for i, slot in enumerate(slots):
        slot.park_position = np.array([5.0 + 0.4 * (i % 10), 5.0 + 0.4 * (i // 10), 1.0])
    return scene_xml(slots, spatula), slots


#: A pool key: an object name (its catalogue size variants) or (name, exact size) for task-scaled sizes.
PoolKey = str | tuple[str, tuple[float, float, float]]


def build_scene(objects: dict[PoolKey, int], spatula: bool = False) -> Scene:
    """Compile the model holding ``copies`` of every size variant of each object in ``objects``
    (a ``(name, size)`` key compiles that size only), plus the spatula for push tasks."""
    sized: dict[tuple[str, tuple[float, float, float]], int] = {}
    for key, copies in objects.items():
        keys = [(key, size) for size in size_variants(key)] if isinstance(key, str) else [key]
        for k in keys:
            k = (k[0], tuple(round(float(v), 6) for v in k[1]))  # type: ignore[assignment]
            sized[k] = max(sized.get(k, 0), copies)
    specs = tuple((name, size, c) for (name, size), n in sorted(sized.items()) for c in range(n))
    xml, proto = _compiled(specs, spatula)
    model = mujoco.MjModel.from_xml_string(xml)
    _fill_textures(model)
    slots = [Slot(p.spec, p.geometry, park_position=p.park_position.copy()) for p in proto]
    for i, slot in enumerate(slots):
        body = model.body(f"slot{i}")
        slot.body = body.id
        if not slot.spec.fixed:
            jnt = model.joint(f"s{i}_free")
            slot.qpos_adr, slot.qvel_adr = int(jnt.qposadr[0]), int(jnt.dofadr[0])
            slot.weld = model.equality(f"grip{i}").id
        for gid in range(model.ngeom):
            if model.geom_bodyid[gid] == slot.body:
                if model.geom_group[gid] == GROUP_COLLISION:
                    slot.collision_geoms.append(gid)
                else:
                    slot.visual_geoms.append(gid)
    materials = {name: model.material(_material_name(name)).id for name in TEXTURES}
    materials["gray"] = model.material("mat_gray").id
    return Scene(model, slots, materials)
