"""``ObjectNavEnv``: ProcTHOR-RL's ObjectNav task, shaped like AI2-THOR, on procedural ProcTHOR houses.

Actions are allenact's ``ObjectNavTask`` vocabulary (:data:`thor.ACTION_NAMES`), motion is THOR's
(``MoveAhead`` moves the whole 0.25 m or, blocked, not at all with ``lastActionSuccess`` False;
30° turns; ``LookUp`` / ``LookDown`` in 30° steps within THOR's horizon clamp), the camera is
ProcTHOR-RL's agent. Success is ``End`` while an object of the target type is visible (in frame by
segmentation, within the visibility distance of its nearest visible pixel, :mod:`.visibility`); SPL's
shortest path runs to the nearest viewpoint of the type (:mod:`.viewpoints`). ``info`` mirrors a THOR
``Event``'s metadata in Unity's frame (``agent``, ``lastActionSuccess``, ``visible_objects``) plus the
metrics every step. Facts: ``docs/navigation.md``.
"""

from __future__ import annotations

import dataclasses
import math
import string
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from uio_agent.envs.names import EnvName
from uio_agent.envs.nav import thor
from uio_agent.envs.nav.episodes import HOUSE_SETS, HOUSE_SPLITS, house_for_scene, procedural_scene_id
from uio_agent.envs.nav.geometry import DistanceField, FreeSpace
from uio_agent.envs.nav.layout import HouseLayout, parse_house
from uio_agent.envs.nav.motion import thor_move_ahead
from uio_agent.envs.nav.objectnav_episodes import ObjectNavEpisode, ObjectNavEpisodeError, sample_episode
from uio_agent.envs.nav.oracle import ObjectNavFollower
from uio_agent.envs.nav.scene_cache import SceneCache
from uio_agent.envs.nav.viewpoints import Viewpoints
from uio_agent.envs.nav.visibility import MEASURES, PixelGeometry, nearest_pixel_distances

RESET_OPTIONS = ("oracle", "episode")
#: houses tried per reset seed before giving up (a house may offer no reachable target)
HOUSE_ATTEMPTS = 10


@dataclass(frozen=True)
class ThorAgent:
    """Body and camera. ``fov`` is vertical, as Unity's and THOR's ``fieldOfView``; images are 4:3 like
    ProcTHOR-RL's 400×300 at 0.64 of the pixels (``width=400, height=300`` gives theirs)."""

    name: str = "procthor"
    camera_height: float = 1.576  # metres above the floor
    fov: float = 65.0  # vertical field of view, degrees
    width: int = 320
    height: int = 240
    agent_radius: float = 0.18
    agent_height: float = 1.8

    def __post_init__(self) -> None:
        if not 0 < self.fov < 180:
            raise ValueError(f"agent {self.name!r}: fov must be in (0, 180) degrees, got {self.fov}")
        if not (1 <= self.width <= 4096 and 1 <= self.height <= 4096):
            raise ValueError(f"agent {self.name!r}: width/height must be in [1, 4096] pixels")
        if not 0 < self.camera_height <= self.agent_height or self.agent_radius <= 0:
            raise ValueError(
                f"agent {self.name!r}: need 0 < camera_height <= agent_height and agent_radius > 0, got "
                f"{self.camera_height}, {self.agent_height}, {self.agent_radius}"
            )

    @property
    def hfov(self) -> float:
        """Horizontal field of view in degrees for this image shape."""
        half = math.atan(math.tan(math.radians(self.fov) / 2) * self.width / self.height)
        return math.degrees(2 * half)


#: ProcTHOR-RL ``config/agent/*.yaml``: the default agent and LoCoBot
AGENT_PRESETS: dict[str, ThorAgent] = {
    "procthor": ThorAgent(),
    "locobot": ThorAgent(name="locobot", camera_height=0.870, fov=63.45, agent_height=0.88),
}
AGENT_FIELDS = tuple(f.name for f in dataclasses.fields(ThorAgent) if f.name != "name")


@dataclass(frozen=True)
class ObjectNavConfig:
    """Task settings; the body and camera come from a :class:`ThorAgent` preset."""

    house_set: str = "procedural"
    split: str = "train"
    agent: ThorAgent = field(default_factory=lambda: AGENT_PRESETS["procthor"])
    target_types: tuple[str, ...] = thor.TARGET_TYPES
    max_episode_steps: int = thor.MAX_EPISODE_STEPS
    visibility_distance: float = thor.VISIBILITY_DISTANCE
    #: "axis": from the agent's vertical axis, THOR's capsule; "camera": Euclidean from the camera
    visibility_measure: str = "axis"
    initial_horizon: float = 30.0  # ProcTHOR's metadata.agent.horizon
    #: folder that episode ``scene`` paths are relative to (houses saved as JSON); procedural ids regenerate
    scenes_dir: str | None = None
    house_cache: int = 4
    grid_cell: float = 0.05
    #: ProcTHOR-RL's reward: step penalty, success reward, shaping by the decrease of the geodesic
    step_penalty: float = -0.01
    success_reward: float = 10.0
    shaping_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.house_set not in HOUSE_SETS:
            raise ValueError(f"unknown house set {self.house_set!r}; known: {list(HOUSE_SETS)}")
        if self.split not in HOUSE_SPLITS:
            raise ValueError(f"unknown split {self.split!r}; choose from {sorted(HOUSE_SPLITS)}")
        bad = [t for t in self.target_types if t not in thor.TARGET_TYPES]
        if bad or not self.target_types:
            raise ValueError(f"target_types must be a non-empty subset of {thor.TARGET_TYPES}, got {bad}")
        if self.max_episode_steps < 1 or self.visibility_distance <= 0:
            raise ValueError("max_episode_steps must be >= 1 and visibility_distance > 0")
        if self.visibility_measure not in MEASURES:
            raise ValueError(f"visibility_measure must be one of {MEASURES}, got {self.visibility_measure!r}")
        if self.initial_horizon not in np.arange(
            thor.HORIZON_RANGE[0], thor.HORIZON_RANGE[1] + 1, thor.LOOK_DEGREES
        ):
            raise ValueError(
                f"initial_horizon must be a multiple of 30 in {thor.HORIZON_RANGE}, got {self.initial_horizon}"
            )
        if self.house_cache < 1 or not 0.005 <= self.grid_cell <= 0.2:
            raise ValueError("house_cache must be >= 1 and grid_cell within [0.005, 0.2] metres")

    @classmethod
    def from_kwargs(cls, preset: str = "procthor", **kwargs: Any) -> ObjectNavConfig:
        """Build from flat keywords: agent fields (``width=...``) and task fields mixed."""
        if preset not in AGENT_PRESETS:
            raise ValueError(f"unknown agent preset {preset!r}; choose from {sorted(AGENT_PRESETS)}")
        body = {k: kwargs.pop(k) for k in list(kwargs) if k in AGENT_FIELDS}
        task_fields = {f.name for f in dataclasses.fields(cls)} - {"agent"}
        unknown = sorted(set(kwargs) - task_fields)
        if unknown:
            raise ValueError(
                f"unknown ObjectNav options {unknown}; task options: {sorted(task_fields)}, "
                f"agent options: {list(AGENT_FIELDS)}, plus preset= one of {sorted(AGENT_PRESETS)}"
            )
        if "target_types" in kwargs:
            kwargs["target_types"] = tuple(kwargs["target_types"])
        return cls(agent=dataclasses.replace(AGENT_PRESETS[preset], **body), **kwargs)


@dataclass
class _Scene:
    house: dict[str, Any]
    layout: HouseLayout
    space: FreeSpace
    viewpoints: Viewpoints


class ObjectNavEnv(gym.Env[dict[str, Any], np.int64]):
    """THOR-shaped ObjectNav: Discrete(6) actions, ``rgb`` / ``depth`` (metres) / ``object_type``."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}  # noqa: RUF012 (gymnasium's attribute)

    def __init__(
        self, config: ObjectNavConfig | None = None, render_mode: str | None = None, **kwargs: Any
    ) -> None:
        if config is not None and kwargs:
            raise ValueError(
                f"pass either an ObjectNavConfig or keyword options, not both (got {sorted(kwargs)})"
            )
        self.config = config if config is not None else ObjectNavConfig.from_kwargs(**kwargs)
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        agent = self.config.agent
        self.observation_space = spaces.Dict(
            {
                "rgb": spaces.Box(0, 255, (agent.height, agent.width, 3), np.uint8),
                "depth": spaces.Box(0.0, np.inf, (agent.height, agent.width, 1), np.float32),
                "object_type": spaces.Text(
                    max_length=max(len(t) for t in thor.TARGET_TYPES), charset=string.ascii_letters
                ),
            }
        )
        self.action_space = spaces.Discrete(len(thor.ACTION_NAMES))
        self._scenes = SceneCache(self.config.house_cache, self._build_scene)
        self._renderer: Any = None
        self._rendered_scene: str | None = None
        self._instance_object = np.full(1, -1, dtype=np.int64)
        self._pixels = PixelGeometry(agent.width, agent.height, agent.fov)
        self._episode: ObjectNavEpisode | None = None
        self._follower: ObjectNavFollower | None = None
        self._oracle_action: int | None = None
        self._last_rgb: np.ndarray | None = None
        self._done = True

    # -- episodes --------------------------------------------------------------------------------
    def _build_scene(self, scene_id: str) -> _Scene:
        house = house_for_scene(scene_id, self.config.scenes_dir)
        layout = parse_house(house)
        agent = self.config.agent
        space = FreeSpace(layout, agent.agent_radius, agent.agent_height, self.config.grid_cell)
        viewpoints = Viewpoints(
            space,
            layout.objects,
            agent.camera_height,
            self.config.visibility_distance,
            self.config.visibility_measure,
        )
        return _Scene(house, layout, space, viewpoints)

    def _choose_episode(self, seed: int | None, options: dict[str, Any]) -> ObjectNavEpisode:
        if "episode" in options:
            episode = options["episode"]
            return episode if isinstance(episode, ObjectNavEpisode) else ObjectNavEpisode.from_json(episode)
        episode_seed = seed if seed is not None else int(self.np_random.integers(2**31 - 1))
        rng = np.random.default_rng([episode_seed, 2])
        offset, count = HOUSE_SPLITS[self.config.split]
        reasons = []
        for _ in range(HOUSE_ATTEMPTS):
            scene_id = procedural_scene_id(self.config.split, offset + int(rng.integers(count)))
            try:
                return sample_episode(
                    self._scenes.get(scene_id).viewpoints,
                    rng,
                    f"{self.config.split}_{episode_seed}",
                    scene_id,
                    self.config.target_types,
                    self.config.initial_horizon,
                    self.config.agent.agent_height / 2,
                )
            except ObjectNavEpisodeError as exc:
                reasons.append(str(exc))
        raise ObjectNavEpisodeError(
            f"seed {episode_seed}: no ObjectNav episode in {HOUSE_ATTEMPTS} houses ({'; '.join(reasons[-2:])}); "
            "widen target_types"
        )

    # -- gymnasium API ---------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = sorted(set(options) - set(RESET_OPTIONS))
        if unknown:
            raise ValueError(f"unknown reset options {unknown}; valid: {list(RESET_OPTIONS)}")
        episode = self._choose_episode(seed, options)
        scene = self._scenes.get(episode.scene)
        field_ = scene.viewpoints.field(episode.object_type)
        if field_ is None:
            raise ValueError(
                f"episode {episode.id}: no {episode.object_type} viewpoint is reachable in {episode.scene}"
            )
        self._episode = episode
        self._scene_id = episode.scene
        self._space = scene.space
        self._field: DistanceField = field_
        self._position = episode.start_xz
        if not self._space.is_navigable(self._position):
            raise ValueError(f"episode {episode.id}: start {episode.initial_position} is not navigable")
        self._rotation = round(episode.initial_orientation) % 360
        self._horizon = thor.clamp_horizon(float(episode.initial_horizon))
        self._distance = self._field.distance(self._position)
        if not math.isfinite(self._distance):
            raise ValueError(f"episode {episode.id}: the target's viewpoints are unreachable from the start")
        self._start_distance = self._distance
        self._path_length = 0.0
        self._steps = 0
        self._last_success = True
        self._ended = False
        self._success = False
        self._done = False
        self._follower = (
            ObjectNavFollower(
                scene.viewpoints,
                episode.object_type,
                self.config.agent.camera_height,
                self.config.visibility_distance,
            )
            if options.get("oracle")
            else None
        )
        obs = self._observe()
        return obs, self._info()

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if self._done:
            raise RuntimeError("step() after the episode ended (or before reset()): call reset() first")
        act = thor.check_action(action)
        self._steps += 1
        previous_position, previous_distance = self._position, self._distance
        self._last_success = True
        if act == thor.MOVE_AHEAD:
            yaw = thor.yaw_from_thor(self._rotation)
            self._position, self._last_success = thor_move_ahead(
                self._space, self._position, yaw, thor.GRID_SIZE
            )
        elif act in (thor.ROTATE_LEFT, thor.ROTATE_RIGHT):
            turn = -thor.ROTATE_DEGREES if act == thor.ROTATE_LEFT else thor.ROTATE_DEGREES
            self._rotation = round(self._rotation + turn) % 360
        elif act in (thor.LOOK_UP, thor.LOOK_DOWN):
            tilt = -thor.LOOK_DEGREES if act == thor.LOOK_UP else thor.LOOK_DEGREES
            wanted = self._horizon + tilt
            self._horizon = thor.clamp_horizon(wanted)
            self._last_success = self._horizon == wanted
        else:
            self._ended = True
        moved = float(np.hypot(*(self._position - previous_position)))
        self._path_length += moved
        if moved > 1e-4:
            self._distance = self._field.distance(self._position)
        obs = self._observe()
        self._success = self._ended and self._target_visible()
        reward = self.config.step_penalty + self.config.shaping_weight * (previous_distance - self._distance)
        if self._success:
            reward += self.config.success_reward
        terminated = self._ended
        truncated = not terminated and self._steps >= self.config.max_episode_steps
        self._done = terminated or truncated
        return obs, float(reward), terminated, truncated, self._info()

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array" or self._last_rgb is None:
            return None
        return self._last_rgb.copy()

    def oracle(self) -> _EpisodeOracle:
        """The episode's shortest-path oracle as ``act(obs) -> action`` (``agent.OracleActionWrapper``).

        It replays the action already in ``info["oracle_action"]`` (the follower is stateful, so it is
        asked once per step); needs ``reset(options={"oracle": True})``.
        """
        if self._follower is None:
            raise RuntimeError("no oracle for this episode: reset with options={'oracle': True}")
        return _EpisodeOracle(self)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
            self._rendered_scene = None

    # -- internals ----------------------------------------------------------------------------------
    def _observe(self) -> dict[str, Any]:
        agent = self.config.agent
        if self._renderer is None:
            from uio_agent.envs.nav.render import HouseRenderer

            self._renderer = HouseRenderer(agent.width, agent.height, agent.hfov)
        if self._rendered_scene != self._scene_id:
            layout = self._scenes[self._scene_id].layout
            self._renderer.load(layout)
            index = {obj.id: k for k, obj in enumerate(layout.objects)}
            self._instance_object = np.array(
                [-1] + [index.get(name, -1) for name in self._renderer.instances], dtype=np.int64
            )
            self._rendered_scene = self._scene_id
        views = self._renderer.render(
            self._position,
            thor.yaw_from_thor(self._rotation),
            agent.camera_height,
            pitch=math.radians(self._horizon),
            instance=True,
        )
        objects = self._scenes[self._scene_id].layout.objects
        factor = self._pixels.distance_factor(self._horizon, self.config.visibility_measure)
        nearest = nearest_pixel_distances(
            views["depth"], views["instance"], self._instance_object, len(objects), factor
        )
        visible = [
            (float(nearest[k]), objects[k]) for k in np.nonzero(nearest <= self.config.visibility_distance)[0]
        ]
        self._visible = [
            {"objectId": obj.id, "objectType": obj.object_type, "distance": distance}
            for distance, obj in sorted(visible, key=lambda pair: pair[0])
        ]
        self._last_rgb = views["rgb"]
        assert self._episode is not None
        return {
            "rgb": views["rgb"],
            "depth": views["depth"][..., None],
            "object_type": self._episode.object_type,
        }

    def _target_visible(self) -> bool:
        assert self._episode is not None
        return any(v["objectType"] == self._episode.object_type for v in self._visible)

    def _spl(self) -> float:
        """allenact's ``spl_metric``: 0 on failure, 1 for a success that needed and took no path."""
        d0, p = self._start_distance, self._path_length
        if not self._success:
            return 0.0
        return 1.0 if max(d0, p) == 0.0 else d0 / max(d0, p)

    def _info(self) -> dict[str, Any]:
        assert self._episode is not None
        x, y, z = thor.ours_to_unity(
            float(self._position[0]), self.config.agent.agent_height / 2, float(self._position[1])
        )
        info: dict[str, Any] = {
            "agent": {
                "position": {"x": x, "y": y, "z": z},
                "rotation": {"x": 0.0, "y": float(self._rotation), "z": 0.0},
                "cameraHorizon": float(self._horizon),
            },
            "lastActionSuccess": bool(self._last_success),
            "visible_objects": [dict(v) for v in self._visible],
            "object_type": self._episode.object_type,
            "success": bool(self._success),
            "spl": self._spl(),
            "distance_to_target": float(self._distance),
            "path_length": self._path_length,
            "episode_length": self._steps,
            "episode_id": self._episode.id,
            "scene_id": self._episode.scene,
            "start_distance_to_target": self._start_distance,
        }
        if self._done:
            info["failure"] = not self._success
            info["failure_reason"] = (
                None if self._success else ("ended_not_visible" if self._ended else "step_limit")
            )
        if self._follower is not None:
            self._oracle_action = (
                None
                if self._done
                else self._follower.next_action(
                    self._position, self._rotation, self._horizon, self._target_visible()
                )
            )
            if self._oracle_action is not None:
                info["oracle_action"] = self._oracle_action
        return info


class _EpisodeOracle:
    def __init__(self, env: ObjectNavEnv) -> None:
        self._env = env

    def act(self, obs: Any) -> int | None:
        return self._env._oracle_action


def make_from_name(name: EnvName, **kwargs: Any) -> ObjectNavEnv:
    """Factory for ``make_env("objectnav/procedural", preset=..., split=..., ...)``."""
    if name.level is not None:
        raise ValueError(f"{name}: objectnav has no levels; use 'objectnav/<house set>'")
    house_set = name.task or "procedural"
    if house_set not in HOUSE_SETS:
        raise ValueError(f"{name}: unknown objectnav house set {house_set!r}; known: {list(HOUSE_SETS)}")
    return ObjectNavEnv(house_set=house_set, **kwargs)


__all__ = ["AGENT_PRESETS", "ObjectNavConfig", "ObjectNavEnv", "ThorAgent", "make_from_name"]
