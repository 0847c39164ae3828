"""Choose MuJoCo's OpenGL backend before MuJoCo is imported.

MuJoCo and PyOpenGL read ``MUJOCO_GL`` / ``PYOPENGL_PLATFORM`` once, at import. On a headless
machine the library picks EGL (Mesa's llvmpipe on CPUs, the vendor driver on GPUs) and falls back
to OSMesa when no EGL library is installed. A user's own setting always wins.
"""

from __future__ import annotations

import ctypes.util
import os
import sys


def choose_backend() -> str:
    """Set (if unset) and return the MuJoCo GL backend: ``egl``, else ``osmesa``, else ``glfw``."""
    chosen = os.environ.get("MUJOCO_GL")
    if chosen:
        return chosen.lower()
    if sys.platform.startswith("linux"):
        if ctypes.util.find_library("EGL"):
            chosen = "egl"
        elif ctypes.util.find_library("OSMesa"):
            chosen = "osmesa"
        else:
            chosen = "glfw"
        os.environ["MUJOCO_GL"] = chosen
        if chosen != "glfw":
            os.environ.setdefault("PYOPENGL_PLATFORM", chosen)
        return chosen
    return "glfw"
