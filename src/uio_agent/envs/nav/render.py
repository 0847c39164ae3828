"""House -> MuJoCo scene, rendered as a camera only (no physics is ever stepped).

The camera sits on a mocap body whose pose is written directly, followed by ``mj_kinematics``.
RGB and depth come from one render pass (``mjr_readPixels`` reads both buffers); segmentation needs a
second pass with flat id colours. MuJoCo is z-up: our (habitat) ``(x, y, z)`` maps to MuJoCo
``(x, -z, y)``, which keeps the frame right-handed, so images match Habitat's (and THOR's) view.
Objects are drawn as primitive stand-ins (:mod:`.shapes`); every geom carries the name of the house
element it belongs to, so segmentation gives each object, wall piece and floor its own instance.
"""

from __future__ import annotations

import ctypes.util
import hashlib
import itertools
import math
import os
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np

from uio_agent.envs.nav.geometry import point_in_polygon
from uio_agent.envs.nav.layout import WALL_THICKNESS, HouseLayout, SceneObject
from uio_agent.envs.nav.shapes import object_parts


def select_gl_backend() -> str:
    """Pick MuJoCo's headless GL back-end unless the user chose one: EGL if present, else OSMesa.

    Must run before ``mujoco`` is imported. llvmpipe renders faster single-threaded at these image
    sizes (see docs/navigation.md), so ``LP_NUM_THREADS=1`` is the default when unset.
    """
    backend = os.environ.get("MUJOCO_GL")
    if not backend:
        if ctypes.util.find_library("EGL"):
            backend = "egl"
        elif ctypes.util.find_library("OSMesa"):
            backend = "osmesa"
        else:
            backend = "glfw"
        os.environ["MUJOCO_GL"] = backend
    if backend in ("egl", "osmesa"):
        os.environ.setdefault("PYOPENGL_PLATFORM", backend)
    os.environ.setdefault("LP_NUM_THREADS", "1")
    return backend


GL_BACKEND = select_gl_backend()

try:
    import mujoco  # after choosing the GL back-end
except (AttributeError, ImportError, OSError) as _exc:  # PyOpenGL fails this way without the GL library
    raise RuntimeError(
        f"MuJoCo could not load its {GL_BACKEND!r} OpenGL back-end ({_exc!r}); install Mesa's libraries "
        "(EGL: libegl-mesa0 libgl1-mesa-dri; OSMesa: libosmesa6) or set MUJOCO_GL to one that is installed"
    ) from _exc

_NEAR = 0.02  # metres
_FAR = 60.0


def _palette(name: str, salt: str) -> tuple[np.ndarray, np.ndarray]:
    """Two deterministic colours for a material name (base and accent)."""
    digest = hashlib.sha256(f"{salt}:{name}".encode()).digest()
    base = np.frombuffer(digest[:3], dtype=np.uint8).astype(np.float64) / 255.0
    lower = name.lower()
    if salt == "floor":
        if "wood" in lower or "floor" in lower:
            base = np.array([0.45, 0.30, 0.18]) + 0.25 * (base - 0.5)
        elif "carpet" in lower or "fabric" in lower:
            base = 0.35 + 0.4 * base
        else:
            base = 0.4 + 0.35 * base
    elif salt == "wall":
        base = 0.6 + 0.35 * base  # light paint, tiles or plaster
    else:
        base = 0.15 + 0.7 * base
    base = np.clip(base, 0.0, 1.0)
    accent = np.clip(base * (0.75 + 0.2 * np.frombuffer(digest[3:6], dtype=np.uint8) / 255.0), 0.0, 1.0)
    return base, accent


def _rgb(c: np.ndarray) -> str:
    return " ".join(f"{v:.3f}" for v in c)


def house_to_mjcf(layout: HouseLayout, width: int, height: int, fovy: float) -> tuple[str, list[str]]:
    """MJCF for a house plus the semantic name of every geom (index = geom id)."""
    textures: dict[str, str] = {}
    materials: dict[str, str] = {}
    geoms: list[str] = []
    names: list[str] = []

    def material(name: str, salt: str) -> str:
        key = f"{salt}_{hashlib.sha256(f'{salt}:{name}'.encode()).hexdigest()[:10]}"
        if key not in materials:
            base, accent = _palette(name or salt, salt)
            if salt == "floor":
                builtin, repeat = ("checker", "4 4") if "tile" in name.lower() else ("gradient", "2 2")
                if "wood" in name.lower() or "floor" in name.lower():
                    builtin, repeat = "checker", "8 1"
                textures[key] = (
                    f'<texture name="{key}" type="2d" builtin="{builtin}" rgb1="{_rgb(base)}" rgb2="{_rgb(accent)}" '
                    f'mark="random" random="0.08" markrgb="{_rgb(accent * 0.8)}" width="128" height="128"/>'
                )
                materials[key] = (
                    f'<material name="{key}" texture="{key}" texrepeat="{repeat}" texuniform="true"/>'
                )
            elif salt == "wall":
                # plain paint: MuJoCo maps 2-D textures onto a box's side faces by projection, which
                # smears them into stripes on thin wall boxes
                materials[key] = f'<material name="{key}" rgba="{_rgb(base)} 1" specular="0.1"/>'
            else:
                materials[key] = f'<material name="{key}" rgba="{_rgb(base)} 1" specular="0.2"/>'
        return key

    def box(
        name: str, semantic: str, x0: float, z0: float, x1: float, z1: float, y0: float, y1: float, mat: str
    ) -> None:
        # house (x, z) -> MuJoCo (x, -z); house y -> MuJoCo z
        cx, cy, cz = (x0 + x1) / 2, -(z0 + z1) / 2, (y0 + y1) / 2
        hx, hy, hz = max((x1 - x0) / 2, 1e-3), max((z1 - z0) / 2, 1e-3), max((y1 - y0) / 2, 1e-3)
        geoms.append(
            f'<geom name={quoteattr(name)} type="box" pos="{cx:.4f} {cy:.4f} {cz:.4f}" '
            f'size="{hx:.4f} {hy:.4f} {hz:.4f}" material="{mat}"/>'
        )
        names.append(semantic)

    for room in layout.rooms:
        mat = material(room.floor_material, "floor")
        for k, (x0, z0, x1, z1) in enumerate(_rectangles(room.polygon)):
            box(f"floor|{room.id}|{k}", f"floor|{room.id}", x0, z0, x1, z1, -0.05, 0.0, mat)
    x0, z0, x1, z1 = layout.bounds
    ceiling_mat = material(layout.ceiling_material, "wall")
    box(
        "ceiling",
        "ceiling",
        x0 - 0.1,
        z0 - 0.1,
        x1 + 0.1,
        z1 + 0.1,
        layout.ceiling_height,
        layout.ceiling_height + 0.05,
        ceiling_mat,
    )
    for i, b in enumerate(layout.boxes):
        if b.kind == "wall":
            box(f"wall|{i}", b.name, b.x0, b.z0, b.x1, b.z1, b.y0, b.y1, material(b.material, "wall"))
    for door in layout.doors:
        if door.openness > 0:
            continue  # open doors are holes; a closed one is a panel standing proud of its wall
        half_along, half_across = door.width / 2, WALL_THICKNESS / 2 + 0.01
        hx, hz = (half_across, half_along) if abs(door.normal[0]) > 0.5 else (half_along, half_across)
        (cx, cz), mat = door.center, material(door.asset_id, "object")
        box(f"door|{door.id}", door.id, cx - hx, cz - hz, cx + hx, cz + hz, 0.0, door.height, mat)
    for obj in layout.objects:
        geoms += _object_geoms(obj)
        names += [obj.id] * (len(geoms) - len(names))

    extent = max(x1 - x0, z1 - z0, 1.0)
    xml = f"""<mujoco model="house">
  <compiler angle="radian"/>
  <statistic extent="{extent:.3f}" center="{(x0 + x1) / 2:.3f} {-(z0 + z1) / 2:.3f} 1"/>
  <visual>
    <global offwidth="{width}" offheight="{height}" fovy="{fovy:.6f}"/>
    <map znear="{_NEAR / extent:.6f}" zfar="{_FAR / extent:.6f}"/>
    <headlight ambient="0.45 0.45 0.45" diffuse="0.35 0.35 0.35" specular="0.05 0.05 0.05"/>
    <quality shadowsize="0" offsamples="0"/>
  </visual>
  <asset>
    {"".join(textures.values())}
    {"".join(materials.values())}
  </asset>
  <worldbody>
    <light directional="true" dir="0.3 0.2 -1" diffuse="0.35 0.35 0.33" castshadow="false"/>
    {"".join(geoms)}
    <body name="agent" mocap="true">
      <camera name="eye" pos="0 0 0" xyaxes="1 0 0 0 0 1" fovy="{fovy:.6f}"/>
    </body>
  </worldbody>
</mujoco>"""
    return xml, names


def _object_geoms(obj: SceneObject) -> list[str]:
    """MJCF geoms of one object's primitive parts, placed by its centre and THOR yaw.

    The asset's axes in MuJoCo: x across its front ``(cos θ, −sin θ, 0)``, front ``(sin θ, cos θ, 0)``
    (Unity's (sin θ, cos θ) in x-z, whose z is MuJoCo's y), up ``(0, 0, 1)``: a turn of −θ about z.
    """
    theta = math.radians(obj.rotation_y)
    axes = {
        "x": np.array([math.cos(theta), -math.sin(theta), 0.0]),
        "z": np.array([math.sin(theta), math.cos(theta), 0.0]),
        "y": np.array([0.0, 0.0, 1.0]),
    }
    centre = np.array([obj.center[0], -obj.center[2], obj.center[1]])
    quat = f"{math.cos(-theta / 2):.6f} 0 0 {math.sin(-theta / 2):.6f}"
    out = []
    for k, part in enumerate(object_parts(obj.object_type, obj.asset_id, obj.size)):
        lx, ly, lz = part.centre
        pos = centre + lx * axes["x"] + lz * axes["z"] + ly * axes["y"]
        hx, hy, hz = part.half
        if part.kind in ("box", "ellipsoid"):
            shape = f'size="{hx:.4f} {hz:.4f} {hy:.4f}" quat="{quat}"'
        elif part.kind == "sphere":
            shape = f'size="{hx:.4f}"'
        else:  # cylinder / capsule: half = (radius, half length, radius), running along ``axis``
            zaxis = " ".join(f"{v:.6f}" for v in axes[part.axis])
            shape = f'size="{hx:.4f} {hy:.4f}" zaxis="{zaxis}"'
        out.append(
            f'<geom name={quoteattr(f"{obj.id}#{k}")} type="{part.kind}" pos="{pos[0]:.4f} {pos[1]:.4f} {pos[2]:.4f}" '
            f'{shape} rgba="{_rgb(np.array(part.rgb))} 1"/>'
        )
    return out


def _rectangles(polygon: tuple[tuple[float, float], ...]) -> list[tuple[float, float, float, float]]:
    """Split a rectilinear polygon into axis-aligned rectangles (x0, z0, x1, z1) by its z breakpoints."""
    xs = sorted({p[0] for p in polygon})
    zs = sorted({p[1] for p in polygon})
    rects: list[tuple[float, float, float, float]] = []
    for za, zb in itertools.pairwise(zs):
        run: float | None = None
        for xa, xb in itertools.pairwise(xs):
            inside = bool(point_in_polygon(np.array([(xa + xb) / 2]), np.array([(za + zb) / 2]), polygon)[0])
            if inside and run is None:
                run = xa
            if not inside and run is not None:
                rects.append((run, za, xa, zb))
                run = None
        if run is not None:
            rects.append((run, za, xs[-1], zb))
    return rects


class HouseRenderer:
    """Offscreen RGB / depth (metres, z-buffer distance) / semantic views of one house at a time."""

    def __init__(self, width: int, height: int, hfov_deg: float) -> None:
        self.width, self.height = int(width), int(height)
        # vertical field of view from the horizontal one (habitat's hfov) and the aspect ratio
        self.fovy = math.degrees(
            2 * math.atan(math.tan(math.radians(hfov_deg) / 2) * self.height / self.width)
        )
        from mujoco import gl_context

        if gl_context.GLContext is None:
            raise RuntimeError(
                f"MuJoCo has no GL context for MUJOCO_GL={GL_BACKEND!r}; try MUJOCO_GL=egl or osmesa"
            )
        try:
            self._gl: Any = gl_context.GLContext(self.width, self.height)
            self._gl.make_current()
        except Exception as exc:  # EGL/OSMesa failures surface as assorted error types
            raise RuntimeError(
                f"could not create a {GL_BACKEND} OpenGL context ({exc}); install Mesa "
                "(libegl-mesa0 libgl1-mesa-dri, or libosmesa6) or set MUJOCO_GL=osmesa / egl"
            ) from exc
        self._context: Any = None
        self.model: Any = None
        self.names: list[str] = []
        self.instances: list[str] = []
        self._geom_instance = np.zeros(1, dtype=np.int32)
        self._rgb = np.empty((self.height, self.width, 3), dtype=np.uint8)
        self._depth = np.empty((self.height, self.width), dtype=np.float32)
        self._rect = mujoco.MjrRect(0, 0, self.width, self.height)

    def load(self, layout: HouseLayout) -> None:
        """Compile the house (one model per house; textures are uploaded once here)."""
        xml, self.names = house_to_mjcf(layout, self.width, self.height, self.fovy)
        # instance k + 1 for every geom of the k-th distinct house element (0 = nothing)
        index: dict[str, int] = {}
        self._geom_instance = np.array(
            [0] + [index.setdefault(name, len(index)) + 1 for name in self.names], dtype=np.int32
        )
        self.instances = list(index)
        self.model = mujoco.MjModel.from_xml_string(xml)
        self.data = mujoco.MjData(self.model)
        self._gl.make_current()
        if self._context is not None:
            self._context.free()
        self._context = mujoco.MjrContext(self.model, mujoco.mjtFontScale.mjFONTSCALE_100)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._context)
        self._context.readDepthMap = mujoco.mjtDepthMap.mjDEPTH_ZEROFAR
        self.scene = mujoco.MjvScene(self.model, maxgeom=self.model.ngeom + 10)
        self.option = mujoco.MjvOption()
        self.camera = mujoco.MjvCamera()
        self.camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
        self.camera.fixedcamid = self.model.camera("eye").id
        extent = self.model.stat.extent
        self._near = np.float32(self.model.vis.map.znear * extent)
        self._far = np.float32(self.model.vis.map.zfar * extent)

    def render(
        self,
        position: np.ndarray,
        yaw: float,
        camera_height: float,
        rgb: bool = True,
        depth: bool = True,
        semantic: bool = False,
        pitch: float = 0.0,
        instance: bool = False,
    ) -> dict[str, np.ndarray]:
        """Views from floor point ``position`` (x, z) at Habitat ``yaw`` and ``camera_height`` metres,
        tilted down by ``pitch`` radians (THOR's ``cameraHorizon``). ``semantic``: geom id + 1 per pixel
        (``names``); ``instance``: house-element index + 1 per pixel (``instances``)."""
        if self.model is None:
            raise RuntimeError("HouseRenderer.render() before load(layout)")
        self.data.mocap_pos[0] = (position[0], -position[1], camera_height)
        # Habitat yaw about +y is a rotation about MuJoCo +z; at yaw 0 the camera looks along MuJoCo +y (= −z);
        # looking down is a turn of −pitch about the body's x axis (applied before the yaw)
        qyaw = np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])
        qpitch = np.array([math.cos(-pitch / 2), math.sin(-pitch / 2), 0.0, 0.0])
        quat = np.empty(4)
        mujoco.mju_mulQuat(quat, qyaw, qpitch)
        self.data.mocap_quat[0] = quat
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_camlight(self.model, self.data)
        self._gl.make_current()
        out: dict[str, np.ndarray] = {}
        mujoco.mjv_updateScene(
            self.model, self.data, self.option, None, self.camera, mujoco.mjtCatBit.mjCAT_ALL, self.scene
        )
        if rgb or depth:
            mujoco.mjr_render(self._rect, self.scene, self._context)
            mujoco.mjr_readPixels(
                self._rgb if rgb else None, self._depth if depth else None, self._rect, self._context
            )
            if rgb:
                out["rgb"] = np.flipud(self._rgb).copy()
            if depth:
                out["depth"] = self._linear_depth(np.flipud(self._depth))
        if semantic or instance:
            ids = self._semantic()
            if semantic:
                out["semantic"] = ids
            if instance:
                out["instance"] = self._geom_instance[ids]
        return out

    def _linear_depth(self, raw: np.ndarray) -> np.ndarray:
        """Reverse-Z depth buffer -> metres along the optical axis (MuJoCo's Renderer formula)."""
        near, far = self._near, self._far
        c = np.float32(-0.5) * (-(far + near) / (far - near)) - np.float32(0.5)
        d = np.float32(-0.5) * (-(np.float32(2) * far * near) / (far - near))
        return (d / (raw.astype(np.float64) + c)).astype(np.float32)

    def _semantic(self) -> np.ndarray:
        """Per-pixel geom id + 1 (0 = nothing); ``names[id - 1]`` is the house element it belongs to."""
        flags = self.scene.flags.copy()
        self.scene.flags[mujoco.mjtRndFlag.mjRND_SEGMENT] = True
        self.scene.flags[mujoco.mjtRndFlag.mjRND_IDCOLOR] = True
        try:
            mujoco.mjr_render(self._rect, self.scene, self._context)
            buffer = np.empty((self.height, self.width, 3), dtype=np.uint8)
            mujoco.mjr_readPixels(buffer, None, self._rect, self._context)
        finally:
            np.copyto(self.scene.flags, flags)
        seg = buffer.astype(np.int32)
        segid = seg[..., 0] + (seg[..., 1] << 8) + (seg[..., 2] << 16)
        lookup = np.zeros(self.scene.ngeom + 2, dtype=np.int32)
        for i in range(self.scene.ngeom):
            g = self.scene.geoms[i]
            if g.segid >= 0 and g.objtype == mujoco.mjtObj.mjOBJ_GEOM:
                lookup[g.segid + 1] = g.objid + 1
        return np.flipud(lookup[np.clip(segid, 0, len(lookup) - 1)]).copy()

    def close(self) -> None:
        if self._gl is not None:
            self._gl.make_current()
            if self._context is not None:
                self._context.free()
                self._context = None
            self._gl.free()
            self._gl = None
