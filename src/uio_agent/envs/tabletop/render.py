"""Offscreen rendering: one GL context per environment, RGB and geom-id segmentation passes.

The backend is chosen by :func:`uio_agent.envs.tabletop.gl.choose_backend` (EGL with Mesa on CPU
machines, OSMesa as a fallback) before MuJoCo is imported. Segmentation uses MuJoCo's id-colour pass
and is mapped to VIMA's body ids through a per-geom lookup table kept by the environment.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import mujoco
import numpy as np

from uio_agent.envs.tabletop.scene import GROUP_ARM, GROUP_BACKDROP, GROUP_SCENE

_MAX_SIDE = 320


def _gl_context(width: int, height: int) -> Any:
    backend = os.environ.get("MUJOCO_GL", "egl").lower()
    if backend == "osmesa":
        from mujoco.osmesa import GLContext
    elif backend == "glfw":
        from mujoco.glfw import GLContext
    else:
        from mujoco.egl import GLContext
    return GLContext(width, height)


class SceneRenderer:
    """Renders named cameras of one model at arbitrary sizes up to 320 x 320."""

    def __init__(self, model: mujoco.MjModel) -> None:
        self.model = model
        self._ctx: Any = None
        self._ctx = _gl_context(_MAX_SIDE, _MAX_SIDE)
        self._ctx.make_current()
        self._con = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_100.value)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN.value, self._con)
        self._scene = mujoco.MjvScene(model, maxgeom=2000)
        self._cam = mujoco.MjvCamera()
        self._cam.type = mujoco.mjtCamera.mjCAMERA_FIXED.value
        self.option = mujoco.MjvOption()
        self.option.sitegroup[:] = 0
        self.set_groups(arm_visible=False)
        self._cam_ids = {model.camera(i).name: i for i in range(model.ncam)}

    def set_groups(self, arm_visible: bool, backdrop: bool = False, scene: bool = True) -> None:
        """Which geom groups are drawn (see :mod:`.scene` for the group meanings)."""
        groups = np.zeros(6, dtype=np.uint8)
        groups[GROUP_SCENE] = scene
        groups[GROUP_ARM] = arm_visible
        groups[GROUP_BACKDROP] = backdrop
        self.option.geomgroup[:] = groups

    def render(
        self, data: mujoco.MjData, camera: str, height: int, width: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """(rgb (H, W, 3) uint8, geom ids (H, W) int32 with -1 for background) of ``camera``."""
        self._ctx.make_current()
        self._cam.fixedcamid = self._cam_ids[camera]
        mujoco.mjv_updateScene(
            self.model, data, self.option, None, self._cam, mujoco.mjtCatBit.mjCAT_ALL.value, self._scene
        )
        rect = mujoco.MjrRect(0, 0, width, height)
        rgb = np.empty((height, width, 3), dtype=np.uint8)
        mujoco.mjr_render(rect, self._scene, self._con)
        mujoco.mjr_readPixels(rgb, None, rect, self._con)
        return rgb[::-1].copy(), self._segment(rect, height, width)

    def segment(self, data: mujoco.MjData, camera: str, height: int, width: int) -> np.ndarray:
        """Only the geom-id pass (the oracle's top-down mask)."""
        self._ctx.make_current()
        self._cam.fixedcamid = self._cam_ids[camera]
        mujoco.mjv_updateScene(
            self.model, data, self.option, None, self._cam, mujoco.mjtCatBit.mjCAT_ALL.value, self._scene
        )
        return self._segment(mujoco.MjrRect(0, 0, width, height), height, width)

    def _segment(self, rect: mujoco.MjrRect, height: int, width: int) -> np.ndarray:
        flags = self._scene.flags
        flags[mujoco.mjtRndFlag.mjRND_SEGMENT] = 1
        flags[mujoco.mjtRndFlag.mjRND_IDCOLOR] = 1
        try:
            buf = np.empty((height, width, 3), dtype=np.uint8)
            mujoco.mjr_render(rect, self._scene, self._con)
            mujoco.mjr_readPixels(buf, None, rect, self._con)
        finally:
            flags[mujoco.mjtRndFlag.mjRND_SEGMENT] = 0
            flags[mujoco.mjtRndFlag.mjRND_IDCOLOR] = 0
        segid = buf[::-1].astype(np.int32)
        segid = segid[..., 0] + (segid[..., 1] << 8) + (segid[..., 2] << 16)
        ngeom = self._scene.ngeom
        lut = np.full(ngeom + 1, -1, dtype=np.int32)
        for k in range(ngeom):
            g = self._scene.geoms[k]
            if g.segid >= 0 and g.objtype == mujoco.mjtObj.mjOBJ_GEOM.value:
                lut[g.segid + 1] = g.objid
        return lut[np.clip(segid, 0, ngeom)]

    def close(self) -> None:
        """Free the GL resources with this context current: GL object ids are per context, and
        freeing them under another environment's context would destroy that one's buffers."""
        if self._ctx is not None:
            self._ctx.make_current()
            self._con.free()
            self._ctx.free()
            self._ctx = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown: GL may already be gone
            self.close()
