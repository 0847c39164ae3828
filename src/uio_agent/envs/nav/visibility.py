"""THOR's object visibility from a rendered frame: in frame, unoccluded, and near enough.

AI2-THOR calls an object visible when one of its visibility points is inside the viewport, the ray
from the camera reaches it first, and it lies within ``visibilityDistance`` of the agent (its
collider overlaps a capsule of that radius around the agent's vertical axis, ``BaseFPSAgentController``
``GetAllVisibleSimObjPhysicsCollider``). Rendered instance segmentation answers "in frame and
unoccluded" pixel by pixel, and the depth buffer turns each pixel into a 3-D point; the object's
distance is that of its nearest visible pixel, measured from the agent's vertical axis through the
camera (``"axis"``, THOR's rule) or from the camera itself (``"camera"``, Euclidean).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

MEASURES = ("axis", "camera")


@dataclass
class PixelGeometry:
    """Per-pixel ray slopes of a pinhole camera: ``right`` and ``down`` per unit of optical depth."""

    width: int
    height: int
    fovy_deg: float
    _coeff: dict[tuple[float, str], np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        focal = (self.height / 2) / math.tan(math.radians(self.fovy_deg) / 2)
        u = (np.arange(self.width) + 0.5 - self.width / 2) / focal
        v = (np.arange(self.height) + 0.5 - self.height / 2) / focal
        self.right, self.down = np.meshgrid(u, v)

    def distance_factor(self, horizon_deg: float, measure: str) -> np.ndarray:
        """Distance of each pixel's 3-D point per metre of optical depth, for a camera tilted down by
        ``horizon_deg`` (cached: a THOR horizon takes a handful of values)."""
        key = (round(horizon_deg, 6), measure)
        factor = self._coeff.get(key)
        if factor is None:
            if measure == "camera":
                factor = np.sqrt(1.0 + self.right**2 + self.down**2)
            elif measure == "axis":
                pitch = math.radians(horizon_deg)
                # horizontal component along the heading: forward·cos(pitch) − down·sin(pitch)
                ahead = math.cos(pitch) - self.down * math.sin(pitch)
                factor = np.sqrt(ahead**2 + self.right**2)
            else:
                raise ValueError(f"visibility measure must be one of {MEASURES}, got {measure!r}")
            self._coeff[key] = factor
        return factor


def nearest_pixel_distances(
    depth: np.ndarray,
    instance: np.ndarray,
    instance_object: np.ndarray,
    num_objects: int,
    factor: np.ndarray,
) -> np.ndarray:
    """Per object, the distance of its nearest visible pixel (``inf`` when none is in frame).

    ``instance`` holds the renderer's instance index + 1 per pixel; ``instance_object[i]`` is the
    object index of instance index ``i - 1`` (−1 for walls, floors and the like, index 0 = nothing).
    """
    obj = instance_object[instance]
    mask = obj >= 0
    nearest = np.full(num_objects, np.inf)
    if mask.any():
        np.minimum.at(nearest, obj[mask], (depth[mask] * factor[mask]).astype(np.float64))
    return nearest
