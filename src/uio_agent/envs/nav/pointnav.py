"""``PointNavEnv``: habitat-lab's PointNav benchmark interface on procedural ProcTHOR-schema houses.

Observations, actions, episode end, reward and metrics follow habitat-lab (``tasks/nav/nav.py``,
``core/environments.py::RLTaskEnv``) as summarised in ``docs/navigation.md``; ``info`` carries the
habitat metrics (``distance_to_goal``, ``success``, ``spl``, ``soft_spl``, ``collisions``) every step.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from uio_agent.envs.names import EnvName
from uio_agent.envs.nav.embodiment import EMBODIMENT_FIELDS, PRESETS, Embodiment, make_embodiment
from uio_agent.envs.nav.episodes import (
    HOUSE_SETS,
    HOUSE_SPLITS,
    NavigationEpisode,
    house_for_scene,
    load_episodes,
    procedural_scene_id,
    sample_episode,
)
from uio_agent.envs.nav.frames import pointgoal_polar, quaternion_to_yaw, yaw_to_quaternion
from uio_agent.envs.nav.geometry import DistanceField, FreeSpace
from uio_agent.envs.nav.layout import HouseLayout, parse_house
from uio_agent.envs.nav.motion import ACTION_NAMES, STOP, apply_action, check_action
from uio_agent.envs.nav.oracle import ShortestPathFollower
from uio_agent.envs.nav.scene_cache import SceneCache

#: optional sensors; ``pointgoal_with_gps_compass`` is always on. ``pointgoal`` is the Challenge 2020
#: sensor: the same polar goal, computed once from the start pose.
SENSORS = ("rgb", "depth", "semantic", "pointgoal")
RESET_OPTIONS = ("oracle", "episode", "episode_index")


@dataclass(frozen=True)
class PointNavConfig:
    """Task settings; the body and sensors come from an :class:`Embodiment` preset."""

    house_set: str = "procedural"
    split: str = "train"
    embodiment: Embodiment = field(default_factory=lambda: PRESETS["benchmark"])
    sensors: tuple[str, ...] = ("rgb", "depth")
    max_episode_steps: int = 500
    #: episodes to replay: a habitat PointNav json.gz or ``procedural/<split>[:N]``; None draws an episode
    #: per reset seed with habitat's rules
    dataset: str | None = None
    #: folder that ``scene_id`` paths are relative to (houses saved as JSON); procedural ids regenerate
    scenes_dir: str | None = None
    house_cache: int = 4
    grid_cell: float = 0.05
    slack_reward: float = -0.01
    success_reward: float = 2.5

    def __post_init__(self) -> None:
        if self.house_set not in HOUSE_SETS:
            raise ValueError(f"unknown house set {self.house_set!r}; known: {list(HOUSE_SETS)}")
        if self.split not in HOUSE_SPLITS:
            raise ValueError(f"unknown split {self.split!r}; choose from {sorted(HOUSE_SPLITS)}")
        bad = [s for s in self.sensors if s not in SENSORS]
        if bad or len(set(self.sensors)) != len(self.sensors):
            raise ValueError(f"sensors must be distinct names from {list(SENSORS)}, got {list(self.sensors)}")
        if self.max_episode_steps < 1:
            raise ValueError(f"max_episode_steps must be >= 1, got {self.max_episode_steps}")
        if self.house_cache < 1 or not 0.005 <= self.grid_cell <= 0.2:
            raise ValueError("house_cache must be >= 1 and grid_cell within [0.005, 0.2] metres")

    @classmethod
    def from_kwargs(cls, preset: str = "benchmark", **kwargs: Any) -> PointNavConfig:
        """Build from flat keywords: embodiment fields (``agent_radius=...``) and task fields mixed."""
        body = {k: kwargs.pop(k) for k in list(kwargs) if k in EMBODIMENT_FIELDS}
        task_fields = {f.name for f in dataclasses.fields(cls)} - {"embodiment"}
        unknown = sorted(set(kwargs) - task_fields)
        if unknown:
            raise ValueError(
                f"unknown PointNav options {unknown}; task options: {sorted(task_fields)}, "
                f"embodiment options: {list(EMBODIMENT_FIELDS)}, plus preset= one of {sorted(PRESETS)}"
            )
        if "sensors" in kwargs:
            kwargs["sensors"] = tuple(kwargs["sensors"])
        return cls(embodiment=make_embodiment(preset, **body), **kwargs)


@dataclass
class _Scene:
    house: dict[str, Any]
    layout: HouseLayout
    space: FreeSpace


class PointNavEnv(gym.Env[dict[str, Any], np.int64]):
    """Habitat-shaped PointNav: Discrete(4) actions, ``rgb``/``depth``/``pointgoal_with_gps_compass``."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}  # noqa: RUF012 (gymnasium's attribute)

    def __init__(
        self, config: PointNavConfig | None = None, render_mode: str | None = None, **kwargs: Any
    ) -> None:
        if config is not None and kwargs:
            raise ValueError(
                f"pass either a PointNavConfig or keyword options, not both (got {sorted(kwargs)})"
            )
        self.config = config if config is not None else PointNavConfig.from_kwargs(**kwargs)
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        body = self.config.embodiment
        obs: dict[str, spaces.Space[Any]] = {}
        if "rgb" in self.config.sensors:
            obs["rgb"] = spaces.Box(0, 255, (body.height, body.width, 3), np.uint8)
        if "depth" in self.config.sensors:
            lo, hi = (0.0, 1.0) if body.normalize_depth else (body.min_depth, body.max_depth)
            obs["depth"] = spaces.Box(lo, hi, (body.height, body.width, 1), np.float32)
        if "semantic" in self.config.sensors:
            obs["semantic"] = spaces.Box(0, np.iinfo(np.int32).max, (body.height, body.width, 1), np.int32)
        big = np.finfo(np.float32).max
        obs["pointgoal_with_gps_compass"] = spaces.Box(-big, big, (2,), np.float32)
        if "pointgoal" in self.config.sensors:
            obs["pointgoal"] = spaces.Box(-big, big, (2,), np.float32)
        self.observation_space = spaces.Dict(obs)
        self.action_space = spaces.Discrete(4)
        self._episodes = load_episodes(self.config.dataset, body) if self.config.dataset else None
        self._cursor = 0
        self._scenes = SceneCache(self.config.house_cache, self._build_scene)
        self._renderer: Any = None
        self._rendered_scene: str | None = None
        self._episode: NavigationEpisode | None = None
        self._follower: ShortestPathFollower | None = None
        self._oracle_action: int | None = None
        self._done = True

    # -- episode selection ---------------------------------------------------------------------------
    def _build_scene(self, scene_id: str) -> _Scene:
        house = house_for_scene(scene_id, self.config.scenes_dir)
        layout = parse_house(house)
        body = self.config.embodiment
        return _Scene(
            house, layout, FreeSpace(layout, body.agent_radius, body.agent_height, self.config.grid_cell)
        )

    def _choose_episode(self, seed: int | None, options: dict[str, Any]) -> NavigationEpisode:
        if "episode" in options:
            ep = options["episode"]
            return ep if isinstance(ep, NavigationEpisode) else NavigationEpisode.from_json(ep)
        if self._episodes is not None:
            if "episode_index" in options:
                index = int(options["episode_index"])
            elif seed is not None:
                index = seed % len(self._episodes)
            else:
                index = self._cursor
            if not 0 <= index < len(self._episodes):
                raise ValueError(
                    f"episode_index {index} outside the dataset's {len(self._episodes)} episodes"
                )
            self._cursor = (index + 1) % len(self._episodes)
            return self._episodes[index]
        if "episode_index" in options:
            raise ValueError("episode_index needs a dataset; pass dataset=<path to a PointNav json.gz>")
        episode_seed = seed if seed is not None else int(self.np_random.integers(2**31 - 1))
        rng = np.random.default_rng([episode_seed, 1])
        offset, count = HOUSE_SPLITS[self.config.split]
        scene_id = procedural_scene_id(self.config.split, offset + int(rng.integers(count)))
        return sample_episode(
            self._scenes.get(scene_id).space,
            rng,
            f"{self.config.split}_{episode_seed}",
            scene_id,
            self.config.embodiment.success_distance,
        )

    # -- gymnasium API ---------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = sorted(set(options) - set(RESET_OPTIONS))
        if unknown:
            raise ValueError(f"unknown reset options {unknown}; valid: {list(RESET_OPTIONS)}")
        episode = self._choose_episode(seed, options)
        scene = self._scenes.get(episode.scene_id)
        self._episode = episode
        self._space = scene.space
        self._scene_id = episode.scene_id
        self._position = episode.start_xz.copy()
        self._yaw = quaternion_to_yaw(episode.start_rotation)
        if not self._space.is_navigable(self._position):
            raise ValueError(
                f"episode {episode.episode_id}: start {list(episode.start_position)} is not navigable"
            )
        self._goal = episode.goal_position
        self._field: DistanceField = self._space.distance_field(self._goal)
        self._distance = self._field.distance(self._position)
        if not math.isfinite(self._distance):
            raise ValueError(f"episode {episode.episode_id}: the goal is unreachable from the start")
        self._start_distance = self._distance
        self._start_pointgoal = pointgoal_polar(self._position, self._yaw, self._goal)
        self._path_length = 0.0
        self._steps = 0
        self._collisions = 0
        self._collided = False
        self._stop_called = False
        self._done = False
        body = self.config.embodiment
        self._follower = ShortestPathFollower(self._field, body) if options.get("oracle") else None
        return self._observe(), self._info(reward_success=False)

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self._done:
            raise RuntimeError("step() after the episode ended (or before reset()): call reset() first")
        act = check_action(action)
        body = self.config.embodiment
        self._steps += 1
        previous = self._position
        if act == STOP:
            self._stop_called = True
        self._position, self._yaw, self._collided = apply_action(self._space, body, previous, self._yaw, act)
        if self._collided:
            self._collisions += 1
        moved = float(np.hypot(*(self._position - previous)))
        self._path_length += moved
        previous_distance = self._distance
        if moved > 1e-4:
            self._distance = self._field.distance(self._position)
        success = self._stop_called and self._distance < body.success_distance
        spl = self._spl(success)
        reward = self.config.slack_reward + (previous_distance - self._distance)
        if spl > 0:
            reward += self.config.success_reward
        terminated = self._stop_called
        truncated = not terminated and self._steps >= self.config.max_episode_steps
        self._done = terminated or truncated
        return self._observe(), float(reward), terminated, truncated, self._info(reward_success=success)

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array" or self._episode is None:
            return None
        return self._render_views(rgb=True, depth=False, semantic=False)["rgb"]

    def oracle(self) -> _EpisodeOracle:
        """The episode's shortest-path follower as ``act(obs) -> action`` (``agent.OracleActionWrapper``).

        It replays the action already in ``info["oracle_action"]`` (the follower is stateful, so it
        is asked once per step); needs ``reset(options={"oracle": True})``.
        """
        if self._follower is None:
            raise RuntimeError("no oracle for this episode: reset with options={'oracle': True}")
        return _EpisodeOracle(self)

    def semantic_labels(self) -> list[str]:
        """House element (room floor, wall id, object id, "ceiling") of each ``semantic`` id: ``labels[id - 1]``.

        Id 0 is empty space; the table belongs to the current episode's house.
        """
        if self._episode is None:
            raise RuntimeError("semantic_labels() before reset(): the labels depend on the house")
        if self._renderer is None or self._rendered_scene != self._scene_id:
            self._render_views(rgb=False, depth=False, semantic=False)
        return list(self._renderer.names)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
            self._rendered_scene = None

    # -- internals ---------------------------------------------------------------------------------------
    def _spl(self, success: bool) -> float:
        d0, p = self._start_distance, self._path_length
        return float(success) * d0 / max(d0, p)

    def _soft_spl(self) -> float:
        d0, p = self._start_distance, self._path_length
        return max(0.0, 1.0 - self._distance / d0) * d0 / max(d0, p)

    def _render_views(self, rgb: bool, depth: bool, semantic: bool) -> dict[str, np.ndarray]:
        body = self.config.embodiment
        if self._renderer is None:
            from uio_agent.envs.nav.render import HouseRenderer

            self._renderer = HouseRenderer(body.width, body.height, body.hfov)
        if self._rendered_scene != self._scene_id:
            self._renderer.load(self._scenes[self._scene_id].layout)
            self._rendered_scene = self._scene_id
        return self._renderer.render(
            self._position, self._yaw, body.camera_height, rgb=rgb, depth=depth, semantic=semantic
        )

    def _observe(self) -> dict[str, np.ndarray]:
        body = self.config.embodiment
        sensors = self.config.sensors
        obs: dict[str, np.ndarray] = {}
        if {"rgb", "depth", "semantic"} & set(sensors):
            views = self._render_views("rgb" in sensors, "depth" in sensors, "semantic" in sensors)
            if "rgb" in sensors:
                obs["rgb"] = views["rgb"]
            if "depth" in sensors:
                d = np.clip(views["depth"], body.min_depth, body.max_depth)
                if body.normalize_depth:
                    d = (d - body.min_depth) / (body.max_depth - body.min_depth)
                obs["depth"] = d.astype(np.float32)[..., None]
            if "semantic" in sensors:
                obs["semantic"] = views["semantic"][..., None]
        obs["pointgoal_with_gps_compass"] = pointgoal_polar(self._position, self._yaw, self._goal)
        if "pointgoal" in sensors:
            obs["pointgoal"] = self._start_pointgoal
        return obs

    def _info(self, reward_success: bool) -> dict[str, Any]:
        assert self._episode is not None
        info: dict[str, Any] = {
            "distance_to_goal": float(self._distance),
            "success": bool(reward_success),
            "spl": self._spl(reward_success),
            "soft_spl": self._soft_spl(),
            "collisions": {"count": self._collisions, "is_collision": self._collided},
            "episode_id": self._episode.episode_id,
            "scene_id": self._episode.scene_id,
            "agent_position": [float(self._position[0]), 0.0, float(self._position[1])],
            "agent_rotation": yaw_to_quaternion(self._yaw),
            "elapsed_steps": self._steps,
            "path_length": self._path_length,
            "start_geodesic_distance": self._start_distance,
        }
        if self._done:
            info["failure"] = not reward_success
            info["failure_reason"] = (
                None if reward_success else ("stopped_too_far" if self._stop_called else "step_limit")
            )
        if self._follower is not None:
            self._oracle_action = (
                None if self._done else self._follower.next_action(self._position, self._yaw)
            )
            if self._oracle_action is not None:
                info["oracle_action"] = self._oracle_action
        return info


class _EpisodeOracle:
    def __init__(self, env: PointNavEnv) -> None:
        self._env = env

    def act(self, obs: Any) -> int | None:
        return self._env._oracle_action


def make_from_name(name: EnvName, **kwargs: Any) -> PointNavEnv:
    """Factory for ``make_env("pointnav/procedural", preset=..., split=..., ...)``."""
    if name.level is not None:
        raise ValueError(f"{name}: pointnav has no levels; use 'pointnav/<house set>'")
    house_set = name.task or "procedural"
    if house_set not in HOUSE_SETS:
        raise ValueError(f"{name}: unknown pointnav house set {house_set!r}; known: {list(HOUSE_SETS)}")
    return PointNavEnv(house_set=house_set, **kwargs)


__all__ = ["ACTION_NAMES", "PointNavConfig", "PointNavEnv", "make_from_name"]
