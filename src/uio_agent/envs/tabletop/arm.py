"""The UR5 arm: MJCF built from the published UR5 kinematics, and a damped-least-squares IK.

Links are primitive geoms (the ROS-Industrial meshes are not shipped). The suction tip is 0.08 m
beyond the flange along the tool axis, as in VIMA's suction end effector. The arm never collides:
it poses itself by IK along the tool path, while the suction cup (a mocap body) carries objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np

#: VIMA's home configuration (radians).
HOME_JOINTS = np.array([-1.0, -0.5, 0.5, -0.5, -0.5, 0.0]) * math.pi
#: VIMA's IK joint limits (pybullet's calculateInverseKinematics arguments).
JOINT_LOW = np.array([-1.5 * math.pi, -2.3562, -17.0, -17.0, -17.0, -17.0])
JOINT_HIGH = np.array([-0.5 * math.pi, 0.0, 17.0, 17.0, 17.0, 17.0])
#: Distance from the flange to the suction cup's tip (m).
TIP_OFFSET = 0.08
#: World orientation of the tip at yaw 0: tool axis (site z) pointing down.
TIP_DOWN = np.diag([1.0, -1.0, -1.0])

_Q_Y90 = "0.70710678 0 0.70710678 0"
_Q_Z90 = "0.70710678 0 0 0.70710678"


def arm_xml(group: int, rgba: str = "0.7 0.7 0.72 1") -> str:
    """The UR5 chain (ur_description's joint origins) with non-colliding capsule links."""
    g = f'group="{group}" contype="0" conaffinity="0" rgba="{rgba}" mass="1"'
    return f"""
    <body name="ur5_base" quat="0 0 0 1" gravcomp="1">
      <geom name="ur5_g0" type="cylinder" size="0.075 0.045" pos="0 0 0.045" {g}/>
      <body name="ur5_shoulder" gravcomp="1" pos="0 0 0.089159">
        <joint name="ur5_j0" axis="0 0 1" damping="1"/>
        <geom name="ur5_g1" type="capsule" fromto="0 0 -0.04 0 0 0.04" size="0.06" {g}/>
        <body name="ur5_upper" gravcomp="1" pos="0 0.13585 0" quat="{_Q_Y90}">
          <joint name="ur5_j1" axis="0 1 0" damping="1"/>
          <geom name="ur5_g2" type="capsule" fromto="0 0 0 0 0 0.425" size="0.054" {g}/>
          <body name="ur5_fore" gravcomp="1" pos="0 -0.1197 0.425">
            <joint name="ur5_j2" axis="0 1 0" damping="1"/>
            <geom name="ur5_g3" type="capsule" fromto="0 0 0 0 0 0.39225" size="0.04" {g}/>
            <body name="ur5_wrist1" gravcomp="1" pos="0 0 0.39225" quat="{_Q_Y90}">
              <joint name="ur5_j3" axis="0 1 0" damping="1"/>
              <geom name="ur5_g4" type="capsule" fromto="0 -0.01 0 0 0.1 0" size="0.04" {g}/>
              <body name="ur5_wrist2" gravcomp="1" pos="0 0.093 0">
                <joint name="ur5_j4" axis="0 0 1" damping="1"/>
                <geom name="ur5_g5" type="capsule" fromto="0 0 0 0 0 0.09" size="0.04" {g}/>
                <body name="ur5_wrist3" gravcomp="1" pos="0 0 0.09465">
                  <joint name="ur5_j5" axis="0 1 0" damping="1"/>
                  <geom name="ur5_g6" type="cylinder" fromto="0 0 0 0 0.08 0" size="0.038" {g}/>
                  <body name="ur5_ee" gravcomp="1" pos="0 0.0823 0" quat="{_Q_Z90}">
                    <site name="ur5_tip" pos="{TIP_OFFSET} 0 0" quat="{_Q_Y90}"/>
                  </body>
                </body>
              </body>
            </body>
          </body>
        </body>
      </body>
    </body>"""


def tip_rotation(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ TIP_DOWN


@dataclass
class IKConfig:
    iterations: int = 60
    damping: float = 1e-3
    tolerance: float = 1e-5


class ArmIK:
    """IK on a private arm-only model, so solving never touches the simulation's state."""

    def __init__(self, config: IKConfig | None = None) -> None:
        self.config = config or IKConfig()
        self.model = mujoco.MjModel.from_xml_string(f"<mujoco><worldbody>{arm_xml(1)}</worldbody></mujoco>")
        self.data = mujoco.MjData(self.model)
        self.site = self.model.site("ur5_tip").id
        self._jacp = np.zeros((3, self.model.nv))
        self._jacr = np.zeros((3, self.model.nv))

    def forward(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tip position and rotation matrix for joints ``q``."""
        self.data.qpos[:] = q
        mujoco.mj_kinematics(self.model, self.data)
        return self.data.site_xpos[self.site].copy(), self.data.site_xmat[self.site].reshape(3, 3).copy()

    def solve(self, position: np.ndarray, yaw: float, q0: np.ndarray) -> tuple[np.ndarray, float]:
        """Joints reaching the tip pose (``position``, tool down with ``yaw``), starting from ``q0``.

        Returns the joints and the remaining position error (m): the arm reaches the whole
        workspace, the error is reported rather than hidden.
        """
        cfg = self.config
        target_r = tip_rotation(yaw)
        q = q0.copy()
        err = np.zeros(6)
        for _ in range(cfg.iterations):
            pos, rot = self.forward(q)
            err[:3] = position - pos
            # orientation error: axis-angle of target * current^T
            r_err = target_r @ rot.T
            quat = np.zeros(4)
            mujoco.mju_mat2Quat(quat, r_err.reshape(-1))
            vel = np.zeros(3)
            mujoco.mju_quat2Vel(vel, quat, 1.0)
            err[3:] = vel
            if float(err @ err) < cfg.tolerance**2:
                break
            mujoco.mj_comPos(self.model, self.data)
            mujoco.mj_jacSite(self.model, self.data, self._jacp, self._jacr, self.site)
            jac = np.vstack([self._jacp, self._jacr])
            dq = jac.T @ np.linalg.solve(jac @ jac.T + cfg.damping * np.eye(6), err)
            q = np.clip(q + dq, JOINT_LOW, JOINT_HIGH)
        q[2:] = (q[2:] + math.pi) % (2 * math.pi) - math.pi  # VIMA wraps the free joints the same way
        pos, _ = self.forward(q)
        return q, float(np.linalg.norm(position - pos))
