"""ObjectNav episodes in the RoboTHOR challenge's format, drawn on procedural houses.

Fields follow ``allenai/robothor-challenge``'s episode JSON (``id``, ``scene``, ``object_type``,
``initial_position`` {x, y, z}, ``initial_orientation`` (THOR yaw, degrees), ``initial_horizon``,
``shortest_path_length``), positions in Unity's frame like every THOR pose. A start is a point of
THOR's 0.25 m lattice on the main navigable island, facing a multiple of the 30° rotation step,
from which the target type's nearest viewpoint is reachable and not already reached; the target type
is drawn uniformly among the types the agent can reach.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from uio_agent.envs.nav import thor
from uio_agent.envs.nav.viewpoints import Viewpoints


class ObjectNavEpisodeError(RuntimeError):
    """A house offers no ObjectNav episode (no reachable target type, or no valid start)."""


@dataclass(frozen=True)
class ObjectNavEpisode:
    id: str
    scene: str
    object_type: str
    initial_position: tuple[float, float, float]  # Unity frame
    initial_orientation: float  # THOR rotation.y, degrees
    initial_horizon: float
    shortest_path_length: float

    @property
    def start_xz(self) -> np.ndarray:
        """The start as our floor point ``(x, z)``."""
        x, _, z = thor.unity_to_ours(*self.initial_position)
        return np.array([x, z], dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        x, y, z = self.initial_position
        return {
            "id": self.id,
            "scene": self.scene,
            "object_type": self.object_type,
            "initial_position": {"x": x, "y": y, "z": z},
            "initial_orientation": self.initial_orientation,
            "initial_horizon": self.initial_horizon,
            "shortest_path_length": self.shortest_path_length,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObjectNavEpisode:
        try:
            position = data["initial_position"]
            episode = cls(
                id=str(data["id"]),
                scene=str(data["scene"]),
                object_type=str(data["object_type"]),
                initial_position=(float(position["x"]), float(position["y"]), float(position["z"])),
                initial_orientation=float(data["initial_orientation"]),
                initial_horizon=float(data.get("initial_horizon", 30.0)),
                shortest_path_length=float(data.get("shortest_path_length", math.nan)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"malformed ObjectNav episode {data.get('id') if isinstance(data, dict) else data!r}: {exc!r}; "
                "expected RoboTHOR's fields id, scene, object_type, initial_position {x, y, z}, "
                "initial_orientation, initial_horizon"
            ) from exc
        if episode.object_type not in thor.TARGET_TYPES:
            raise ValueError(
                f"episode {episode.id}: object_type {episode.object_type!r} is not one of {thor.TARGET_TYPES}"
            )
        return episode


def lattice_starts(viewpoints: Viewpoints) -> np.ndarray:
    """Our ``(x, z)`` points of the 0.25 m lattice whose cell is on the main navigable island."""
    space = viewpoints.space
    x0, z0, x1, z1 = space.layout.bounds
    step = thor.GRID_SIZE
    xs = np.arange(math.ceil(x0 / step), math.floor(x1 / step) + 1) * step
    zs = np.arange(math.ceil(z0 / step), math.floor(z1 / step) + 1) * step
    gx, gz = np.meshgrid(xs, zs)
    cols = np.floor((gx - space.origin[0]) / space.cell).astype(int)
    rows = np.floor((gz - space.origin[1]) / space.cell).astype(int)
    ok = space.labels[rows, cols] == space.largest_island
    return np.stack([gx[ok], gz[ok]], axis=1) + 0.0


def sample_episode(
    viewpoints: Viewpoints,
    rng: np.random.Generator,
    episode_id: str,
    scene_id: str,
    target_types: tuple[str, ...] = thor.TARGET_TYPES,
    initial_horizon: float = 30.0,
    agent_y: float = 0.9,
) -> ObjectNavEpisode:
    """One episode: a reachable target type, then a lattice start that has not yet reached it."""
    types = viewpoints.reachable_types(target_types)
    if not types:
        raise ObjectNavEpisodeError(
            f"{scene_id}: no target type of {len(target_types)} has a reachable viewpoint"
        )
    object_type = types[int(rng.integers(len(types)))]
    field = viewpoints.field(object_type)
    assert field is not None  # reachable_types guarantees it
    starts = lattice_starts(viewpoints)
    for k in rng.permutation(len(starts))[:200]:
        start = starts[int(k)]
        if not viewpoints.space.is_navigable(start):
            continue
        distance = field.distance(start)
        if not (math.isfinite(distance) and distance > 0.0):
            continue
        rotation = float(rng.integers(0, 360 // int(thor.ROTATE_DEGREES)) * thor.ROTATE_DEGREES)
        x, _, z = thor.ours_to_unity(float(start[0]), agent_y, float(start[1]))
        return ObjectNavEpisode(
            id=episode_id,
            scene=scene_id,
            object_type=object_type,
            initial_position=(round(x, 4) + 0.0, agent_y, round(z, 4) + 0.0),
            initial_orientation=rotation,
            initial_horizon=float(initial_horizon),
            shortest_path_length=round(distance, 5),
        )
    raise ObjectNavEpisodeError(f"{scene_id}: no lattice start reaches a {object_type} viewpoint")
