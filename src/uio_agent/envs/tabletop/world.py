"""The simulated tabletop: object slots, the suction pick-and-place primitive, cameras and masks.

Physics runs only while something can move: the empty tool travels kinematically (nothing is
touched in free air, every object is at rest after the previous settle), and everything from the
moment the cup grips until the objects are still again is simulated at 250 Hz. Objects are only
ever moved by physics during an episode; placing them at reset and posing them alone for a
prompt image (then restoring the exact state) are the only direct pose writes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import mujoco
import numpy as np

from uio_agent.envs.tabletop.arm import HOME_JOINTS, ArmIK
from uio_agent.envs.tabletop.catalog import ObjectSpec, TextureSpec
from uio_agent.envs.tabletop.render import SceneRenderer
from uio_agent.envs.tabletop.scene import (
    BOUNDS,
    GROUP_BACKDROP,
    GROUP_COLLISION,
    GROUP_PARKED,
    GROUP_SCENE,
    IMAGE_SIZE,
    ORACLE_SHAPE,
    PIX_SIZE,
    PoolKey,
    Scene,
    Slot,
    build_scene,
)

#: Segmentation ids of the fixed scene, VIMA's: plane, workspace, UR5, cup base, cup head.
ID_PLANE, ID_WORKSPACE, ID_ARM, ID_EE_BASE, ID_EE_HEAD = 0, 1, 2, 3, 4
#: First object id with the suction cup (VIMA's bodies 0-4 are plane, workspace, UR5 and cup) and
#: with the spatula (0-3: plane, workspace, UR5, spatula).
FIRST_OBJECT_ID = 5
FIRST_OBJECT_ID_SPATULA = 4
#: Segmentation value of "nothing" (pybullet's -1 as uint8).
ID_NONE = 255
_CV_ERODE_KERNEL_CACHE: dict[int, np.ndarray] = {}


@dataclass
class PrimitiveConfig:
    """Suction pick-and-place timing: VIMA's heights; speeds chosen for stable carrying at 250 Hz."""

    height: float = 0.32  # tool height above pick/place points before and after (VIMA's)
    lift_speed: float = 1.0  # m/s
    travel_speed: float = 1.5  # m/s
    turn_speed: float = 8.0  # rad/s
    approach_speed: float = 1.2  # m/s, descending with an object until close to the surface
    touch_speed: float = 0.15  # m/s, last centimetres before contact
    approach_clearance: float = 0.01  # m kept by the fast descent
    cup_radius: float = 0.01  # the cup tip is 20 mm across (VIMA's)
    settle_max_steps: int = 1000  # 4 s of simulated time (VIMA: 1000 steps at 240 Hz)
    still_linear: float = 5e-3  # m/s, VIMA's "is static" threshold
    still_angular: float = 0.1  # rad/s


@dataclass
class PushConfig:
    """VIMA's push: rest and operating heights, the 2 cm run-up and 5 cm stop; speeds are ours."""

    rest_height: float = 0.31
    operation_height: float = 0.005
    run_up: float = 0.02
    stop_short: float = 0.05
    descend_speed: float = 0.5  # m/s
    push_speed: float = 0.5  # m/s, constant, with a hard stop: the blocks slide on a little (~2.5 cm)
    lift_speed: float = 1.0  # m/s
    hook_interval: int = 5  # physics steps between constraint checks (VIMA: 50 at 240 Hz)


@dataclass
class Placed:
    """An object of the current episode."""

    obj_id: int
    spec: ObjectSpec
    texture: TextureSpec
    size: tuple[float, float, float]
    slot: int


def yaw_from_quat_xyzw(q: np.ndarray) -> float:
    """Yaw (rotation about z) of an xyzw quaternion; the zero quaternion reads as identity."""
    x, y, z, w = (float(v) for v in q)
    if x * x + y * y + z * z + w * w < 1e-12:
        return 0.0
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def quat_wxyz_from_yaw(yaw: float) -> np.ndarray:
    return np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])


def _smoothstep(n: int) -> np.ndarray:
    t = np.arange(1, n + 1) / n
    return t * t * (3 - 2 * t)


class World:
    """One compiled task model, its simulation state, and the renderer."""

    def __init__(
        self,
        objects: dict[PoolKey, int],
        hide_arm: bool = True,
        config: PrimitiveConfig | None = None,
        end_effector: str = "suction",
    ):
        if end_effector not in ("suction", "spatula"):
            raise ValueError(f"end_effector must be 'suction' or 'spatula', got {end_effector!r}")
        self.end_effector = end_effector
        self.first_object_id = FIRST_OBJECT_ID if end_effector == "suction" else FIRST_OBJECT_ID_SPATULA
        self.scene: Scene = build_scene(objects, spatula=end_effector == "spatula")
        self.push_config = PushConfig()
        #: Called every ``push_config.hook_interval`` physics steps while a push or its settling runs
        #: (VIMA's ``check_constraint`` during ``step_simulation``).
        self.physics_hook: Callable[[], None] | None = None
        self.model = self.scene.model
        self.data = mujoco.MjData(self.model)
        self.config = config or PrimitiveConfig()
        self.hide_arm = hide_arm
        self.renderer = SceneRenderer(self.model)
        self.renderer.set_groups(arm_visible=not hide_arm)
        self.ik = ArmIK()
        m = self.model
        self._cup = m.body("suction").id
        self._mocap = int(m.body_mocapid[self._cup])
        self._arm_qpos = np.array([m.joint(f"ur5_j{i}").qposadr[0] for i in range(6)])
        self._segm_base = np.full(m.ngeom + 1, ID_NONE, dtype=np.int32)  # index -1 (no geom) -> 255
        self._segm_base[m.geom("ground").id] = ID_PLANE
        self._segm_base[m.geom("workspace").id] = ID_WORKSPACE
        for gid in range(m.ngeom):
            if m.geom(gid).name.startswith("ur5_"):
                self._segm_base[gid] = ID_ARM
        if end_effector == "suction":
            self._segm_base[m.geom("suction_base").id] = ID_EE_BASE
            self._segm_base[m.geom("suction_head").id] = ID_EE_HEAD
        else:  # VIMA's spatula is one body (id 3); the suction cup stays in the model, never drawn
            self._segm_base[m.geom("spatula_base").id] = ID_EE_BASE
            self._segm_base[m.geom("spatula_blade").id] = ID_EE_BASE
            self._segm_base[m.geom("suction_base").id] = ID_NONE
            self._segm_base[m.geom("suction_head").id] = ID_NONE
            self._spatula = m.body("spatula").id
            self._spatula_mocap = int(m.body_mocapid[self._spatula])
        self._segm = self._segm_base.copy()
        self._collision_groups = np.zeros(6, dtype=np.uint8)
        self._collision_groups[GROUP_COLLISION] = 1
        self._geom_body = m.geom_bodyid.copy()
        self._slot_of_body = {s.body: i for i, s in enumerate(self.scene.slots)}
        self.objects: dict[int, Placed] = {}
        self.arm_q = HOME_JOINTS.copy()
        self.ik_error = 0.0
        self._hook_counter = 0
        self.clear()

    # ------------------------------------------------------------------ episode setup

    def clear(self) -> None:
        """Park every slot, home the arm, release the cup."""
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        for i in range(len(self.scene.slots)):
            self._park(i)
        d.eq_active[:] = 0
        self.objects = {}
        self._segm = self._segm_base.copy()
        self.arm_q = HOME_JOINTS.copy()
        d.qpos[self._arm_qpos] = self.arm_q
        pos, _ = self.ik.forward(self.arm_q)
        self._set_tool(pos, math.pi)
        if self.end_effector == "spatula":
            d.mocap_pos[self._spatula_mocap] = (pos[0], pos[1], self.push_config.rest_height + 0.3)
        mujoco.mj_forward(m, d)

    def _park(self, i: int) -> None:
        m, d = self.model, self.data
        slot = self.scene.slots[i]
        m.geom_group[slot.visual_geoms] = GROUP_PARKED
        m.geom_contype[slot.collision_geoms] = 0
        m.geom_conaffinity[slot.collision_geoms] = 0
        m.body_contype[slot.body] = 0
        m.body_conaffinity[slot.body] = 0
        if slot.spec.fixed:
            m.body_pos[slot.body] = slot.park_position
        else:
            m.body_gravcomp[slot.body] = 1.0
            d.qpos[slot.qpos_adr : slot.qpos_adr + 3] = slot.park_position
            d.qpos[slot.qpos_adr + 3 : slot.qpos_adr + 7] = (1, 0, 0, 0)
            d.qvel[slot.qvel_adr : slot.qvel_adr + 6] = 0

    def add_object(
        self,
        spec: ObjectSpec,
        texture: TextureSpec,
        size: np.ndarray,
        xy: np.ndarray,
        yaw: float,
        z: float | None = None,
    ) -> int:
        """Activate a free slot of ``spec`` (nearest compiled size) at ``xy``/``yaw``; returns its id.

        ``z``: the body height (default: resting on the table)."""
        variant = self.scene.nearest_size(spec.name, np.asarray(size))
        used = {p.slot for p in self.objects.values()}
        free = [i for i in self.scene.free_slots(spec.name, variant) if i not in used]
        if not free:
            raise RuntimeError(f"no free slot for {spec.name!r}: the task's pool is too small")
        i = free[0]
        m, d = self.model, self.data
        slot = self.scene.slots[i]
        m.geom_contype[slot.collision_geoms] = 1
        m.geom_conaffinity[slot.collision_geoms] = 1
        m.body_contype[slot.body] = 1
        m.body_conaffinity[slot.body] = 1
        m.geom_group[slot.visual_geoms] = GROUP_SCENE
        m.geom_matid[slot.visual_geoms] = self.scene.materials[texture.name]
        self._place_kinematic(slot, np.array([xy[0], xy[1], slot.rest_z if z is None else z]), yaw)
        if not slot.spec.fixed:
            m.body_gravcomp[slot.body] = 0.0
            d.qvel[slot.qvel_adr : slot.qvel_adr + 6] = 0
        obj_id = self.first_object_id + len(self.objects)
        self.objects[obj_id] = Placed(obj_id, spec, texture, tuple(float(v) for v in size), i)  # type: ignore[arg-type]
        self._segm[slot.visual_geoms] = obj_id
        mujoco.mj_kinematics(m, d)
        return obj_id

    def remove_object(self, obj_id: int) -> None:
        """Park the most recently added object again (for objects that only appear in prompt images)."""
        if not self.objects or obj_id != max(self.objects):
            raise ValueError(f"only the last added object can be removed, not {obj_id}")
        placed = self.objects.pop(obj_id)
        slot = self.scene.slots[placed.slot]
        self._segm[slot.visual_geoms] = ID_NONE
        self._park(placed.slot)
        mujoco.mj_kinematics(self.model, self.data)

    def move_object(self, obj_id: int, xy: np.ndarray, yaw: float, z: float | None = None) -> None:
        """Set an object's pose while building an episode (VIMA's ``resetBasePositionAndOrientation``)."""
        slot = self.scene.slots[self.objects[obj_id].slot]
        self._place_kinematic(slot, np.array([xy[0], xy[1], slot.rest_z if z is None else z]), yaw)
        mujoco.mj_kinematics(self.model, self.data)

    def rest_height(self, obj_id: int) -> float:
        """Body height of an object resting on the table."""
        return self.scene.slots[self.objects[obj_id].slot].rest_z

    def support_height(self, xy: np.ndarray, half: tuple[float, float], exclude: int | None = None) -> float:
        """Height of the highest surface under a footprint of half sizes ``half`` centred at ``xy``
        (ignoring object ``exclude``)."""
        grid = np.array([[a * half[0], b * half[1]] for a in (-0.8, 0, 0.8) for b in (-0.8, 0, 0.8)])
        points = np.column_stack([np.asarray(xy)[None, :2] + grid, np.full(len(grid), 1.0)])
        body = -1 if exclude is None else self.scene.slots[self.objects[exclude].slot].body
        mujoco.mj_kinematics(self.model, self.data)
        dist, _ = self._ray_down(points, body)
        return max(0.0, 1.0 - dist) if math.isfinite(dist) else 0.0

    def half_extents(self, obj_id: int) -> tuple[float, float, float]:
        return self.scene.slots[self.objects[obj_id].slot].geometry.half_extents

    # ------------------------------------------------------------------ state

    def pose(self, obj_id: int) -> tuple[np.ndarray, float]:
        """(position (3,), yaw) of an object."""
        slot = self.scene.slots[self.objects[obj_id].slot]
        pos = self.data.xpos[slot.body].copy()
        q = self.data.xquat[slot.body]
        yaw = yaw_from_quat_xyzw(np.array([q[1], q[2], q[3], q[0]]))
        return pos, yaw

    def quat_xyzw(self, obj_id: int) -> np.ndarray:
        q = self.data.xquat[self.scene.slots[self.objects[obj_id].slot].body]
        return np.array([q[1], q[2], q[3], q[0]])

    def is_fixed(self, obj_id: int) -> bool:
        return self.objects[obj_id].spec.fixed

    def _free_slots_active(self) -> list[int]:
        return [p.slot for p in self.objects.values() if not p.spec.fixed]

    def is_static(self) -> bool:
        d, cfg = self.data, self.config
        for i in self._free_slots_active():
            adr = self.scene.slots[i].qvel_adr
            v = d.qvel[adr : adr + 6]
            if np.linalg.norm(v[:3]) >= cfg.still_linear or np.linalg.norm(v[3:]) >= cfg.still_angular:
                return False
        return True

    def _sim_step(self) -> None:
        mujoco.mj_step(self.model, self.data)
        self._hook_counter += 1
        if self.physics_hook is not None and self._hook_counter % self.push_config.hook_interval == 0:
            self.physics_hook()

    def settle(self) -> int:
        """Step until every object is still (VIMA's loop after each action); returns the steps taken."""
        steps = 0
        while steps < self.config.settle_max_steps:
            self._sim_step()
            steps += 1
            if steps % 5 == 0 and self.is_static():
                break
        return steps

    # ------------------------------------------------------------------ cameras

    def observe(self, views: tuple[str, ...] = ("front", "top")) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per view: (rgb (3, H, W) uint8, segm (H, W) uint8 with VIMA's ids)."""
        self.data.qpos[self._arm_qpos] = self.arm_q
        mujoco.mj_kinematics(self.model, self.data)
        out = {}
        for view in views:
            rgb, geoms = self.renderer.render(self.data, view, *IMAGE_SIZE)
            out[view] = (np.ascontiguousarray(rgb.transpose(2, 0, 1)), self._segm[geoms].astype(np.uint8))
        return out

    def oracle_mask(self) -> np.ndarray:
        """VIMA's oracle heightmap mask: (320, 160) object ids, rows along +y, columns along +x."""
        self.renderer.set_groups(arm_visible=False)
        try:
            geoms = self.renderer.segment(self.data, "oracle", *ORACLE_SHAPE)
        finally:
            self.renderer.set_groups(arm_visible=not self.hide_arm)
        return self._segm[geoms][::-1]

    def render_object_alone(self, obj_id: int, texture: TextureSpec | None = None) -> dict[str, np.ndarray]:
        """A prompt image: the object at (0.5, 0), yaw π/2, on white; the scene state is restored."""
        m, d = self.model, self.data
        placed = self.objects[obj_id]
        slot = self.scene.slots[placed.slot]
        saved_qpos = d.qpos.copy()
        saved_body = (m.body_pos[slot.body].copy(), m.body_quat[slot.body].copy())
        saved_mat = m.geom_matid[slot.visual_geoms].copy()
        self._place_kinematic(slot, np.array([0.5, 0.0, slot.rest_z]), math.pi / 2)
        if texture is not None:
            m.geom_matid[slot.visual_geoms] = self.scene.materials[texture.name]
        m.geom_group[slot.visual_geoms] = GROUP_BACKDROP
        self.renderer.set_groups(arm_visible=False, backdrop=True, scene=False)
        mujoco.mj_kinematics(m, d)
        out: dict[str, np.ndarray] = {}
        lut = np.full(m.ngeom + 1, ID_NONE, dtype=np.uint8)
        lut[slot.visual_geoms] = 0
        try:
            for view in ("front", "top"):
                rgb, geoms = self.renderer.render(d, view, *IMAGE_SIZE)
                out["rgb_" + view] = np.ascontiguousarray(rgb.transpose(2, 0, 1))
                out["segm_" + view] = lut[geoms]
        finally:
            self.renderer.set_groups(arm_visible=not self.hide_arm)
            m.geom_group[slot.visual_geoms] = GROUP_SCENE
            m.geom_matid[slot.visual_geoms] = saved_mat
            m.body_pos[slot.body], m.body_quat[slot.body] = saved_body
            d.qpos[:] = saved_qpos
            mujoco.mj_kinematics(m, d)
        return out

    def render_scene(self, layout: list[tuple[int, np.ndarray, float]]) -> dict[str, np.ndarray]:
        """A scene prompt image: only the objects of ``layout`` (id, xy or xyz, yaw), on the table, with
        VIMA's throw-away-simulation ids (plane 0, workspace 1, objects 2, 3, ... in layout order).
        The simulation state is restored afterwards."""
        m, d = self.model, self.data
        saved_qpos = d.qpos.copy()
        saved_bodies = {
            p.slot: (m.body_pos[s.body].copy(), m.body_quat[s.body].copy()) for p, s in self._active()
        }
        lut = np.full(m.ngeom + 1, ID_NONE, dtype=np.uint8)
        lut[m.geom("ground").id], lut[m.geom("workspace").id] = ID_PLANE, ID_WORKSPACE
        shown = {obj_id for obj_id, _, _ in layout}
        for placed, slot in self._active():
            if placed.obj_id not in shown:
                m.geom_group[slot.visual_geoms] = GROUP_PARKED
        for k, (obj_id, xy, yaw) in enumerate(layout):
            slot = self.scene.slots[self.objects[obj_id].slot]
            z = slot.rest_z if len(xy) < 3 else float(xy[2])
            self._place_kinematic(slot, np.array([xy[0], xy[1], z]), yaw)
            lut[slot.visual_geoms] = 2 + k
        self.renderer.set_groups(arm_visible=False)
        mujoco.mj_kinematics(m, d)
        out: dict[str, np.ndarray] = {}
        try:
            for view in ("front", "top"):
                rgb, geoms = self.renderer.render(d, view, *IMAGE_SIZE)
                out["rgb_" + view] = np.ascontiguousarray(rgb.transpose(2, 0, 1))
                out["segm_" + view] = lut[geoms]
        finally:
            self.renderer.set_groups(arm_visible=not self.hide_arm)
            for placed, slot in self._active():
                m.geom_group[slot.visual_geoms] = GROUP_SCENE
                m.body_pos[slot.body], m.body_quat[slot.body] = saved_bodies[placed.slot]
            d.qpos[:] = saved_qpos
            mujoco.mj_kinematics(m, d)
        return out

    def _active(self) -> list[tuple[Placed, Slot]]:
        return [(p, self.scene.slots[p.slot]) for p in self.objects.values()]

    def _place_kinematic(self, slot: Slot, position: np.ndarray, yaw: float) -> None:
        """Write a pose (only for images and spawning: physics never sees a jump)."""
        if slot.spec.fixed:
            self.model.body_pos[slot.body] = position
            self.model.body_quat[slot.body] = quat_wxyz_from_yaw(yaw)
        else:
            self.data.qpos[slot.qpos_adr : slot.qpos_adr + 3] = position
            self.data.qpos[slot.qpos_adr + 3 : slot.qpos_adr + 7] = quat_wxyz_from_yaw(yaw)

    # ------------------------------------------------------------------ sampling helpers

    def random_pose(self, size: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float] | None:
        """VIMA's ``get_random_pose``: a collision-free spot, eroded by the object's diagonal."""
        mask = self.oracle_mask()
        free = np.ones(mask.shape, dtype=np.uint8)
        for obj_id in self.objects:
            free[mask == obj_id] = 0
        free[0, :], free[:, 0], free[-1, :], free[:, -1] = 0, 0, 0, 0
        erode = round(math.hypot(size[0], size[1]) / PIX_SIZE)
        if erode not in _CV_ERODE_KERNEL_CACHE:
            _CV_ERODE_KERNEL_CACHE[erode] = np.ones((erode, erode), np.uint8)
        eroded = cv2.erode(free, _CV_ERODE_KERNEL_CACHE[erode])
        if eroded.sum() == 0:
            return None
        u, v = sample_pixel(eroded.astype(np.float32), rng)
        xy = pix_to_xy(u, v)
        theta = float(rng.random() * 2 * math.pi)
        return xy, theta

    # ------------------------------------------------------------------ the primitive

    def _set_tool(self, pos: np.ndarray, yaw: float) -> None:
        self.data.mocap_pos[self._mocap] = pos
        self.data.mocap_quat[self._mocap] = quat_wxyz_from_yaw(yaw)

    def _tool(self) -> tuple[np.ndarray, float]:
        q = self.data.mocap_quat[self._mocap]
        return self.data.mocap_pos[self._mocap].copy(), yaw_from_quat_xyzw(np.array([q[1], q[2], q[3], q[0]]))

    def _pose_arm(self, pos: np.ndarray, yaw: float) -> None:
        """IK for the tool pose from the current joints (the arm follows the tool's path)."""
        self.arm_q, self.ik_error = self.ik.solve(pos, yaw, self.arm_q)

    def _move(
        self, pos: np.ndarray, yaw: float, speed: float, simulate: bool, until_contact: int | None = None
    ) -> bool:
        """Move the tool in a straight line with a smooth profile; True if ``until_contact`` touched."""
        start, yaw0 = self._tool()
        dyaw = (yaw - yaw0 + math.pi) % (2 * math.pi) - math.pi
        dist = float(np.linalg.norm(pos - start))
        if not simulate:
            self._set_tool(pos, yaw0 + dyaw)
            self._pose_arm(pos, yaw0 + dyaw)
            return False
        duration = max(dist / speed, abs(dyaw) / self.config.turn_speed, 0.02)
        n = max(1, math.ceil(duration / self.model.opt.timestep))
        m, d = self.model, self.data
        touched = False
        for s in _smoothstep(n) if until_contact is None else np.arange(1, n + 1) / n:
            self._set_tool(start + (pos - start) * s, yaw0 + dyaw * s)
            mujoco.mj_step(m, d)
            if until_contact is not None and self._touching(until_contact):
                touched = True
                break
        tool_pos, tool_yaw = self._tool()
        self._pose_arm(tool_pos, tool_yaw)
        return touched

    def _touching(self, body: int) -> bool:
        d = self.data
        if d.ncon == 0:
            return False
        geoms = d.contact.geom[: d.ncon]
        bodies = self._geom_body[geoms]
        hit = (bodies[:, 0] == body) | (bodies[:, 1] == body)
        return bool(np.any(hit & (d.contact.dist[: d.ncon] < 1e-4)))

    def _ray_down(self, points: np.ndarray, exclude_body: int) -> tuple[float, int]:
        """Shortest downward hit over ``points``: (distance, geom id), (inf, -1) if none."""
        best, best_geom = math.inf, -1
        geomid = np.zeros(1, dtype=np.int32)
        down = np.array([0.0, 0.0, -1.0])
        for p in points:
            dist = mujoco.mj_ray(
                self.model, self.data, p, down, self._collision_groups, 1, exclude_body, geomid
            )
            if 0 <= dist < best:
                best, best_geom = dist, int(geomid[0])
        return best, best_geom

    def _cup_points(self, xy: np.ndarray, z: float) -> np.ndarray:
        r = self.config.cup_radius * 0.8
        d = r / math.sqrt(2)  # the diagonals catch an object's corner under the cup's rim
        offsets = np.array([[0, 0], [r, 0], [-r, 0], [0, r], [0, -r], [d, d], [d, -d], [-d, d], [-d, -d]])
        return np.column_stack([xy[None, :] + offsets, np.full(len(offsets), z)])

    def pick_place(self, xy0: np.ndarray, yaw0: float, xy1: np.ndarray, yaw1: float) -> int | None:
        """VIMA's suction pick-and-place (see the module docstring for when physics runs).

        Returns the id of the object the cup gripped, None when nothing rigid was under it."""
        cfg = self.config
        mujoco.mj_kinematics(self.model, self.data)
        above0 = np.array([xy0[0], xy0[1], cfg.height])
        self._move(above0, yaw0, cfg.travel_speed, simulate=False)
        # Descend until the cup touches: the first surface under the cup's footprint.
        dist, geom = self._ray_down(self._cup_points(np.asarray(xy0), cfg.height), self._cup)
        if not math.isfinite(dist):
            dist, geom = cfg.height, -1
        contact = above0 - np.array([0.0, 0.0, dist])
        self._move(contact, yaw0, cfg.travel_speed, simulate=False)
        body = int(self._geom_body[geom]) if geom >= 0 else -1
        slot_index = self._slot_of_body.get(body)
        picked = None
        if slot_index is not None and not self.scene.slots[slot_index].spec.fixed:
            picked = next(p.obj_id for p in self.objects.values() if p.slot == slot_index)
        if picked is None or slot_index is None:  # VIMA: nothing rigid under the cup, go back up
            self._move(above0, yaw0, cfg.travel_speed, simulate=False)
            return None
        slot = self.scene.slots[slot_index]
        self._grip(slot.body, slot.weld)
        self._move(above0, yaw0, cfg.lift_speed, simulate=True)
        above1 = np.array([xy1[0], xy1[1], cfg.height])
        self._move(above1, yaw1, cfg.travel_speed, simulate=True)
        self._descend_holding(slot.body, slot_index, yaw1)
        self.data.eq_active[slot.weld] = 0
        tool, tool_yaw = self._tool()
        self._move(np.array([tool[0], tool[1], cfg.height]), tool_yaw, cfg.travel_speed, simulate=False)
        return picked

    def _grip(self, body: int, weld: int) -> None:
        """Weld the object to the cup at their current relative pose (VIMA's fixed constraint)."""
        m, d = self.model, self.data
        mujoco.mj_kinematics(m, d)
        cup_pos, cup_quat = d.xpos[self._cup], d.xquat[self._cup]
        inv = np.zeros(4)
        mujoco.mju_negQuat(inv, cup_quat)
        rel_pos = np.zeros(3)
        mujoco.mju_rotVecQuat(rel_pos, d.xpos[body] - cup_pos, inv)
        rel_quat = np.zeros(4)
        mujoco.mju_mulQuat(rel_quat, inv, d.xquat[body])
        m.eq_data[weld, 0:3] = 0.0
        m.eq_data[weld, 3:6] = rel_pos
        m.eq_data[weld, 6:10] = rel_quat
        m.eq_data[weld, 10] = 1.0
        d.eq_active[weld] = 1

    def _descend_holding(self, body: int, slot_index: int, yaw: float) -> None:
        """Lower the held object until it touches something: fast to just above the surface, then slowly."""
        cfg = self.config
        d = self.data
        half = self.scene.slots[slot_index].geometry.half_extents
        q = d.xquat[body]
        obj_yaw = yaw_from_quat_xyzw(np.array([q[1], q[2], q[3], q[0]]))
        c, s = math.cos(obj_yaw), math.sin(obj_yaw)
        rot = np.array([[c, -s], [s, c]])
        grid = np.array([[a * half[0], b * half[1]] for a in (-0.9, 0, 0.9) for b in (-0.9, 0, 0.9)])
        body_xy = d.xpos[body][:2]
        bottom = float(d.xpos[body][2]) - half[2] - 1e-3
        points = np.column_stack([body_xy[None, :] + grid @ rot.T, np.full(len(grid), bottom)])
        dist, _ = self._ray_down(points, body)
        tool, _ = self._tool()
        if math.isfinite(dist) and dist > cfg.approach_clearance:
            target = tool - np.array([0.0, 0.0, dist - cfg.approach_clearance])
            if self._move(target, yaw, cfg.approach_speed, simulate=True, until_contact=body):
                return
            tool, _ = self._tool()
        floor = tool - np.array([0.0, 0.0, tool[2] + 0.05])  # never lower than 5 cm under the table
        self._move(floor, yaw, cfg.touch_speed, simulate=True, until_contact=body)

    # ------------------------------------------------------------------ the push primitive

    def _set_spatula(self, pos: np.ndarray, yaw: float) -> None:
        self.data.mocap_pos[self._spatula_mocap] = pos
        self.data.mocap_quat[self._spatula_mocap] = quat_wxyz_from_yaw(yaw)

    def _move_spatula(
        self, start: np.ndarray, end: np.ndarray, yaw: float, speed: float, smooth: bool = True
    ) -> None:
        """Simulated straight-line blade motion (smooth speed profile, or constant with a hard stop)."""
        dist = float(np.linalg.norm(end - start))
        n = max(1, math.ceil(dist / speed / self.model.opt.timestep))
        for s in _smoothstep(n) if smooth else np.arange(1, n + 1) / n:
            self._set_spatula(start + (end - start) * s, yaw)
            self._sim_step()
        self._pose_arm(end, yaw)

    def push(self, xy0: np.ndarray, xy1: np.ndarray) -> bool:
        """VIMA's push: the blade, square to the direction ``xy0`` -> ``xy1``, comes down 2 cm before
        ``xy0`` to 5 mm above the table and pushes to 5 cm before ``xy1``, then rises.

        Returns False (nothing moves) when the two points coincide (VIMA would divide by zero)."""
        if self.end_effector != "spatula":
            raise RuntimeError("push needs the spatula (a sweep task)")
        cfg = self.push_config
        vec = np.asarray(xy1, dtype=float) - np.asarray(xy0, dtype=float)
        length = float(np.linalg.norm(vec))
        if length < 1e-6:
            return False
        vec /= length
        start = np.asarray(xy0, dtype=float) - vec * cfg.run_up
        end = np.asarray(xy1, dtype=float) - vec * cfg.stop_short
        yaw = math.atan2(vec[1], vec[0])
        low0 = np.array([start[0], start[1], cfg.operation_height])
        low1 = np.array([end[0], end[1], cfg.operation_height])
        high0, high1 = low0.copy(), low1.copy()
        high0[2] = high1[2] = cfg.rest_height
        mujoco.mj_kinematics(self.model, self.data)
        self._set_spatula(high0, yaw)  # travel at the rest height touches nothing
        self._move_spatula(high0, low0, yaw, cfg.descend_speed)
        self._move_spatula(low0, low1, yaw, cfg.push_speed, smooth=False)
        self._move_spatula(low1, high1, yaw, cfg.lift_speed)
        return True


def sample_pixel(prob: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
    """VIMA's ``sample_distribution``: one pixel drawn with probability proportional to ``prob``."""
    flat = prob.reshape(-1) / prob.sum()
    index = int(rng.choice(np.arange(flat.size), 1, p=flat, replace=False)[0])
    u, v = np.unravel_index(index, prob.shape)
    return int(u), int(v)


def pix_to_xy(u: int, v: int) -> np.ndarray:
    """VIMA's ``pix_to_xyz`` (row u along y, column v along x; the cell's lower corner)."""
    return np.array([BOUNDS[0, 0] + v * PIX_SIZE, BOUNDS[1, 0] + u * PIX_SIZE])
