"""PointNav episodes in habitat's ``PointNav-v1`` json.gz schema, generated with habitat's rules.

``pointnav_generator.py`` rules: geodesic distance in [1, 30] m, same floor (|Δy| <= 0.5 m; houses
here have one floor at y = 0), finite path, island radius >= 1.5 m, near-straight episodes (geodesic/Euclidean < 1.1) kept with probability
``20·(ratio − 0.98)²``, start yaw uniform in [0, 2π), goal radius = success distance. A goal the start
cannot reach is never emitted: it has an infinite geodesic and is rejected here.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from uio_agent.envs.nav.embodiment import PRESETS, Embodiment
from uio_agent.envs.nav.frames import quaternion_to_yaw, yaw_to_quaternion
from uio_agent.envs.nav.geometry import FreeSpace
from uio_agent.envs.nav.house import HouseConfig, generate_house, load_house
from uio_agent.envs.nav.layout import parse_house
from uio_agent.envs.nav.motion import STOP, apply_action
from uio_agent.envs.nav.oracle import ShortestPathFollower

#: procedural house sets: split -> (first house seed, number of houses), ProcTHOR-10K's split sizes
HOUSE_SPLITS: dict[str, tuple[int, int]] = {
    "train": (0, 10_000),
    "val": (10_000, 1_000),
    "test": (11_000, 1_000),
}
HOUSE_SETS = ("procedural",)
_DATASET_RE = re.compile(r"^procedural/(?P<split>train|val|test)(?::(?P<count>\d+))?$")
_SCENE_RE = re.compile(r"^procedural/(?P<split>train|val|test)/house_(?P<seed>\d+)\.json$")


class EpisodeGenerationError(RuntimeError):
    """No episode satisfying habitat's generator rules exists (or was found) in a house."""


@dataclass(frozen=True)
class EpisodeRules:
    """habitat-lab ``pointnav_generator.py`` defaults."""

    min_geodesic: float = 1.0
    max_geodesic: float = 30.0
    min_island_radius: float = 1.5
    straight_ratio: float = 1.1
    goals_per_house_try: int = 10
    starts_per_goal: int = 50


@dataclass(frozen=True)
class NavigationEpisode:
    """One PointNav episode; positions are ``[x, y, z]`` in Habitat's frame (y up)."""

    episode_id: str
    scene_id: str
    start_position: tuple[float, float, float]
    start_rotation: tuple[float, float, float, float]
    goals: tuple[dict[str, Any], ...]
    info: dict[str, Any] = field(default_factory=dict)
    shortest_paths: list[list[dict[str, Any]]] | None = None

    @property
    def goal_position(self) -> np.ndarray:
        pos = self.goals[0]["position"]
        return np.array([pos[0], pos[2]], dtype=np.float64)

    @property
    def start_xz(self) -> np.ndarray:
        return np.array([self.start_position[0], self.start_position[2]], dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "episode_id": self.episode_id,
            "scene_id": self.scene_id,
            "start_position": list(self.start_position),
            "start_rotation": list(self.start_rotation),
            "goals": [dict(g) for g in self.goals],
            "info": dict(self.info),
        }
        if self.shortest_paths is not None:
            out["shortest_paths"] = self.shortest_paths
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NavigationEpisode:
        try:
            goals = tuple(
                {"position": [float(v) for v in g["position"]], "radius": g.get("radius")}
                for g in data["goals"]
            )
            start = tuple(float(v) for v in data["start_position"])
            rotation = tuple(float(v) for v in data["start_rotation"])
            episode = cls(
                episode_id=str(data["episode_id"]),
                scene_id=str(data["scene_id"]),
                start_position=(start[0], start[1], start[2]),
                start_rotation=(rotation[0], rotation[1], rotation[2], rotation[3]),
                goals=goals,
                info=dict(data.get("info") or {}),
                shortest_paths=data.get("shortest_paths"),
            )
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed PointNav episode {data.get('episode_id')!r}: {exc!r}") from exc
        if not goals or len(start) != 3 or len(rotation) != 4 or any(len(g["position"]) != 3 for g in goals):
            raise ValueError(
                f"episode {episode.episode_id}: needs 3-D start/goal positions and an [x,y,z,w] rotation"
            )
        return episode


def procedural_scene_id(split: str, seed: int) -> str:
    return f"procedural/{split}/house_{seed:06d}.json"


def house_for_scene(scene_id: str, scenes_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The house a ``scene_id`` names: a file under ``scenes_dir`` if given, else regenerated from its seed."""
    if scenes_dir is not None:
        path = Path(scenes_dir) / scene_id
        if path.exists():
            return load_house(path)
    match = _SCENE_RE.match(scene_id)
    if match is None:
        raise ValueError(
            f"scene {scene_id!r} is neither a file under scenes_dir={scenes_dir!r} nor a procedural scene id "
            "'procedural/<split>/house_<seed>.json'"
        )
    return generate_house(int(match["seed"]), HouseConfig(asset_split=match["split"]))


def sample_episode(
    space: FreeSpace,
    rng: np.random.Generator,
    episode_id: str,
    scene_id: str,
    success_distance: float,
    rules: EpisodeRules | None = None,
) -> NavigationEpisode:
    """Draw one episode in ``space`` following habitat's generator rules."""
    rules = rules or EpisodeRules()
    main = space.largest_island
    if main == 0 or space.island_radius(main) < rules.min_island_radius:
        raise EpisodeGenerationError(
            f"{scene_id}: no navigable island of radius >= {rules.min_island_radius} m"
        )
    rows, cols = np.nonzero(space.labels == main)
    for _ in range(rules.goals_per_house_try):
        k = int(rng.integers(rows.size))
        goal = space.cell_center(int(rows[k]), int(cols[k]))
        field_ = space.distance_field(goal)
        for _ in range(rules.starts_per_goal):
            j = int(rng.integers(rows.size))
            start = space.cell_center(int(rows[j]), int(cols[j]))
            geodesic = field_.distance(start)
            if not (math.isfinite(geodesic) and rules.min_geodesic <= geodesic <= rules.max_geodesic):
                continue
            euclid = float(np.hypot(*(goal - start)))
            ratio = geodesic / euclid
            if ratio < rules.straight_ratio and rng.random() > 20 * (ratio - 0.98) ** 2:
                continue
            yaw = float(rng.uniform(0, 2 * math.pi))
            return NavigationEpisode(
                episode_id=episode_id,
                scene_id=scene_id,
                start_position=(round(float(start[0]), 5), 0.0, round(float(start[1]), 5)),
                start_rotation=tuple(yaw_to_quaternion(yaw)),  # type: ignore[arg-type]
                goals=(
                    {
                        "position": [round(float(goal[0]), 5), 0.0, round(float(goal[1]), 5)],
                        "radius": success_distance,
                    },
                ),
                info={"geodesic_distance": round(geodesic, 5), "euclidean_distance": round(euclid, 5)},
            )
    raise EpisodeGenerationError(
        f"{scene_id}: no start/goal pair met habitat's rules in "
        f"{rules.goals_per_house_try * rules.starts_per_goal} draws (house too small?)"
    )


def save_dataset(episodes: list[NavigationEpisode], path: str | os.PathLike[str]) -> Path:
    """Write ``{"episodes": [...]}`` as json.gz, atomically (habitat ``PointNav-v1``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps({"episodes": [e.to_json() for e in episodes]}).encode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(gzip.compress(payload, mtime=0))
    os.replace(tmp, path)
    return path


def load_dataset(path: str | os.PathLike[str]) -> list[NavigationEpisode]:
    """Read a habitat PointNav json.gz (episodes inline; per-scene ``content/`` files are followed)."""
    path = Path(path)
    data = json.loads(gzip.decompress(path.read_bytes()))
    if not isinstance(data, dict) or "episodes" not in data:
        raise ValueError(f"{path}: not a PointNav dataset (no top-level 'episodes')")
    episodes = [NavigationEpisode.from_json(e) for e in data["episodes"]]
    content = path.parent / "content"
    if not episodes and content.is_dir():
        for scene_file in sorted(content.glob("*.json.gz")):
            episodes += load_dataset(scene_file)
    return episodes


def shortest_path(
    space: FreeSpace, body: Embodiment, episode: NavigationEpisode, max_steps: int = 500
) -> list[dict[str, Any]]:
    """The oracle's actions from the start, as habitat's ``shortest_paths`` entries (pose before each
    action), ending with STOP, or after ``max_steps`` if the follower does not get there."""
    follower = ShortestPathFollower(space.distance_field(episode.goal_position), body)
    position, yaw = episode.start_xz, quaternion_to_yaw(episode.start_rotation)
    points: list[dict[str, Any]] = []
    for _ in range(max_steps):
        action = follower.next_action(position, yaw)
        points.append(
            {
                "position": [round(float(position[0]), 5), 0.0, round(float(position[1]), 5)],
                "rotation": [round(v, 6) for v in yaw_to_quaternion(yaw)],
                "action": action,
            }
        )
        if action == STOP:
            break
        position, yaw, _ = apply_action(space, body, position, yaw, action)
    return points


def generate_dataset(
    split: str,
    num_episodes: int,
    episodes_per_house: int = 10,
    first_house: int = 0,
    body: Embodiment | None = None,
    with_shortest_paths: bool = False,
) -> list[NavigationEpisode]:
    """``num_episodes`` episodes over consecutive houses of a procedural split (deterministic) for
    ``body`` (default: the benchmark preset), optionally with the oracle's ``shortest_paths``."""
    if split not in HOUSE_SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {sorted(HOUSE_SPLITS)}")
    if num_episodes < 1 or episodes_per_house < 1:
        raise ValueError("num_episodes and episodes_per_house must be >= 1")
    body = body or PRESETS["benchmark"]
    offset, count = HOUSE_SPLITS[split]
    episodes: list[NavigationEpisode] = []
    house_index = first_house
    while len(episodes) < num_episodes:
        if house_index >= count:
            raise ValueError(f"split {split!r} has only {count} houses; ask for fewer episodes")
        seed = offset + house_index
        scene_id = procedural_scene_id(split, seed)
        space = FreeSpace(parse_house(house_for_scene(scene_id)), body.agent_radius, body.agent_height)
        rng = np.random.default_rng([seed, 7])
        for k in range(min(episodes_per_house, num_episodes - len(episodes))):
            episode = sample_episode(space, rng, f"{seed}_{k}", scene_id, body.success_distance)
            if with_shortest_paths:
                episode = dataclasses.replace(episode, shortest_paths=[shortest_path(space, body, episode)])
            episodes.append(episode)
        house_index += 1
    return episodes


def load_episodes(name: str | os.PathLike[str], body: Embodiment | None = None) -> list[NavigationEpisode]:
    """Episodes by name: a PointNav ``.json.gz`` path, or ``procedural/<split>[:N]`` (N episodes, default
    100, ten per house, generated deterministically from the split's first houses for ``body``)."""
    match = _DATASET_RE.match(str(name))
    if match is not None:
        return generate_dataset(match["split"], int(match["count"] or 100), body=body)
    path = Path(name)
    if not path.name.endswith(".json.gz"):
        raise ValueError(
            f"episode dataset {str(name)!r}: expected a habitat PointNav .json.gz file or 'procedural/<split>[:N]'"
        )
    if not path.exists():
        raise FileNotFoundError(f"episode dataset {path} does not exist")
    return load_dataset(path)
