"""AI2-THOR ObjectNav: ``ai2thor.controller.Controller`` on a ProcTHOR house behind ``ObjectNavEnv``'s
Gymnasium interface, so one policy and one evaluation run on both.

**Where it runs: in-process, imported lazily.** The bridge of ``envs/remote.py`` exists for benchmarks
whose stack cannot share our interpreter (VIMA-Bench pins numpy 1.x and gym 0.21, habitat-sim comes
from conda). ``ai2thor`` installs from PyPI next to this project with no conflicting pin, and its
simulator already runs out of process: the Controller starts the Unity build as a child process and
exchanges frames with it. A worker would add a second process hop per frame and isolate nothing, so
the adapter imports ``ai2thor`` in the process that owns the environment (each evaluation worker owns
one Controller and so one Unity). Without ``ai2thor``, construction raises
:class:`ThorUnavailableError` with the install command; when Unity cannot start (the build, about
1 GB, is downloaded on first use; it needs an X display, or ``platform="CloudRendering"`` with a
Vulkan GPU), the first reset raises :class:`ThorStartError` saying so.

**Names** (suite ``thor``, ``make_env``):

* ``thor`` or ``thor/procedural``: the project's procedural houses (same ProcTHOR schema, real asset
  ids); reset seed ``s`` plays ``uio_agent.envs.nav.house.generate_house(s)``;
* ``thor/houses`` with ``houses=[...]``: ProcTHOR house dicts or JSON paths (``.json``, ``.json.gz``),
  e.g. ProcTHOR-10K houses a user loaded with ``prior``; seed ``s`` plays house ``s mod N``;
* ``thor/<Scene>``: a scene built into AI2-THOR, e.g. ``thor/FloorPlan_Train1_1`` (RoboTHOR).

**Task** (ProcTHOR-RL's ObjectNav, ``reference/navigation.md`` §2): Controller settings
``gridSize 0.25``, ``snapToGrid False``, ``rotateStepDegrees 30``, ``visibilityDistance 1.0``, depth on,
400×300 frames, the ``default`` agent (FOV 65) or ``locobot`` (FOV 63.45). Reset: the target type is
drawn among the :data:`~uio_agent.envs.nav.thor.TARGET_TYPES` present in the scene (or
``options={"object_type": ...}``), the start is a random reachable position with a yaw on the 30° grid
and horizon 30, redrawn until THOR's ``GetShortestPath`` reaches a target object. Actions are
:data:`~uio_agent.envs.nav.thor.ACTION_NAMES` (Discrete(6)); ``End`` does not step Unity.
``success`` = End while an object of the target type is ``visible`` in THOR's metadata; SPL = S·L/max(P, L)
(1 when L = P = 0) with L the geodesic at reset — the shortest ``GetShortestPath`` corners polyline to
any target object, retried with ``allowedError`` doubling from 0.05 m as allenact does, plus the offset
to the first corner — and P the walked path (x-z distance between successive agent positions);
``distance_to_target`` is the same geodesic from the current position (``inf`` if no path is found).
Reward: −0.01 per step, +10 on success (ProcTHOR-RL's evaluation setting, no shaping). Episodes are
truncated at 500 steps.

Observations and ``info`` are ``ObjectNavEnv``'s (THOR's Unity frame): ``rgb`` (``event.frame``),
``depth`` (``event.depth_frame``, metres, (H, W, 1)), ``object_type``; ``info["agent"]`` (position,
rotation, ``cameraHorizon``), ``lastActionSuccess``, ``visible_objects`` (objectId, objectType, distance),
``object_type``, ``success``, ``spl``, ``distance_to_target``, ``path_length``, ``episode_length``, and
``failure`` / ``failure_reason`` (``target_not_visible``, ``step_limit``) once the episode ends. There
is no oracle: THOR has no shortest-path follower to replay (``reset(options={"oracle": True})`` says so).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import itertools
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from uio_agent.envs.names import EnvName
from uio_agent.envs.nav.thor import (
    ACTION_NAMES,
    END,
    GRID_SIZE,
    MAX_EPISODE_STEPS,
    ROTATE_DEGREES,
    TARGET_TYPES,
    VISIBILITY_DISTANCE,
    check_action,
)

#: ``ai2thor`` agent modes and their camera field of view (ProcTHOR-RL's agent configs)
AGENT_FOV = {"default": 65.0, "locobot": 63.45}
START_HORIZON = 30.0
STEP_REWARD = -0.01
SUCCESS_REWARD = 10.0
#: allenact's ``GetShortestPath`` retries: allowedError doubles from the first value while below the last
ALLOWED_ERROR = (0.05, 2.5)
RESET_OPTIONS = ("object_type", "oracle")
#: the longest THOR object type the ``object_type`` observation holds
OBJECT_TYPE_LENGTH = 32
_INSTALL = (
    "pip install ai2thor (5.0.0 is the release this adapter follows); the first Controller downloads "
    "AI2-THOR's Unity build (about 1 GB). See docs/thor_bridge.md."
)


class ThorUnavailableError(ImportError):
    """``ai2thor`` cannot be imported in this interpreter."""


class ThorStartError(RuntimeError):
    """The Controller (Unity) could not be started."""


class ThorEpisodeError(RuntimeError):
    """No ObjectNav episode can be set up in the scene (no target object, nothing reachable)."""


@dataclass(frozen=True)
class ThorConfig:
    """Controller and task settings; defaults are ProcTHOR-RL's ObjectNav."""

    agent: str = "default"
    width: int = 400
    height: int = 300
    target_types: tuple[str, ...] = TARGET_TYPES
    max_episode_steps: int = MAX_EPISODE_STEPS
    #: an ``ai2thor.platform`` name, e.g. ``"CloudRendering"`` (headless, Vulkan GPU); None: ai2thor's choice
    platform: str | None = None
    #: start poses tried per reset before giving up on the scene
    start_tries: int = 20
    #: more ``Controller`` arguments (``x_display``, ``gpu_device``, ``commit_id``, ``local_executable_path``, ...)
    controller_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.agent not in AGENT_FOV:
            raise ValueError(f"agent must be one of {sorted(AGENT_FOV)}, got {self.agent!r}")
        if not (0 < self.width <= 4096 and 0 < self.height <= 4096):
            raise ValueError(f"width and height must be in [1, 4096] pixels, got {self.width}x{self.height}")
        if not self.target_types or any(len(t) > OBJECT_TYPE_LENGTH for t in self.target_types):
            raise ValueError(f"target_types must be non-empty THOR object types, got {self.target_types!r}")
        if self.max_episode_steps < 1 or self.start_tries < 1:
            raise ValueError("max_episode_steps and start_tries must be >= 1")

    def controller_arguments(self) -> dict[str, Any]:
        """``Controller(**...)`` without the scene (ProcTHOR-RL's ObjectNav settings, then ``controller_kwargs``)."""
        arguments: dict[str, Any] = {
            "agentMode": self.agent,
            "gridSize": GRID_SIZE,
            "snapToGrid": False,
            "rotateStepDegrees": ROTATE_DEGREES,
            "visibilityDistance": VISIBILITY_DISTANCE,
            "fieldOfView": AGENT_FOV[self.agent],
            "width": self.width,
            "height": self.height,
            "renderDepthImage": True,
            "renderInstanceSegmentation": False,
        }
        if self.platform is not None:
            platforms = importlib.import_module("ai2thor.platform")
            if not isinstance(getattr(platforms, self.platform, None), type):
                raise ValueError(
                    f"platform={self.platform!r} is not an ai2thor.platform class; e.g. 'CloudRendering', 'Linux64'"
                )
            arguments["platform"] = getattr(platforms, self.platform)
        return arguments | dict(self.controller_kwargs)


def xz_distance(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    return math.hypot(float(a["x"]) - float(b["x"]), float(a["z"]) - float(b["z"]))


def polyline_length(corners: Sequence[Mapping[str, float]]) -> float:
    """``ai2thor.util.metrics.path_distance``: the summed 3-D lengths of a corner list."""
    return sum(
        math.dist((a["x"], a["y"], a["z"]), (b["x"], b["y"], b["z"])) for a, b in itertools.pairwise(corners)
    )


def _plain_pose(agent: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "position": {k: float(agent["position"][k]) for k in "xyz"},
        "rotation": {k: float(agent["rotation"][k]) for k in "xyz"},
        "cameraHorizon": float(agent["cameraHorizon"]),
    }


class ThorObjectNavEnv(gym.Env[dict[str, Any], np.int64]):
    """ProcTHOR ObjectNav in AI2-THOR (module docstring). Exactly one of ``houses`` (house dicts or JSON
    paths), ``scene`` (a built-in scene name) or neither (procedural houses, one per reset seed).

    ``controller_class`` replaces ``ai2thor.controller.Controller`` (tests use a fake with its API).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}  # noqa: RUF012 (gymnasium's attribute)

    def __init__(
        self,
        config: ThorConfig | None = None,
        *,
        houses: Sequence[Mapping[str, Any] | str | os.PathLike[str]] | None = None,
        scene: str | None = None,
        controller_class: Any = None,
        render_mode: str | None = None,
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        if houses is not None and scene is not None:
            raise ValueError("give houses= or scene=, not both")
        if houses is not None and (isinstance(houses, str | os.PathLike | Mapping) or not houses):
            raise ValueError("houses must be a non-empty list of house dicts or JSON paths")
        if controller_class is None and importlib.util.find_spec("ai2thor") is None:
            raise ThorUnavailableError(
                f"ai2thor is not importable in this interpreter ({sys.executable}). {_INSTALL}"
            )
        self.config = config or ThorConfig()
        self.houses = list(houses) if houses is not None else None
        self.scene = scene
        self.render_mode = render_mode
        self._controller_class = controller_class
        self._controller: Any = None
        h, w = self.config.height, self.config.width
        self.observation_space = gym.spaces.Dict(
            {
                "rgb": gym.spaces.Box(0, 255, (h, w, 3), np.uint8),
                "depth": gym.spaces.Box(0.0, np.inf, (h, w, 1), np.float32),
                "object_type": gym.spaces.Text(min_length=1, max_length=OBJECT_TYPE_LENGTH),
            }
        )
        self.action_space = gym.spaces.Discrete(len(ACTION_NAMES))
        self._scene_key: Any = None
        self._reachable: list[dict[str, float]] = []
        self._event: Any = None
        self._done = True

    # ------------------------------------------------------------------ scene and controller
    def _scene_for(self, seed: int) -> tuple[Any, str | dict[str, Any]]:
        """``(key, scene)`` of the episode with ``seed``: a house dict or a built-in scene name."""
        if self.scene is not None:
            return self.scene, self.scene
        from uio_agent.envs.nav import house as house_module

        if self.houses is None:
            return ("procedural", seed), house_module.generate_house(seed)
        index = seed % len(self.houses)
        source = self.houses[index]
        house = dict(source) if isinstance(source, Mapping) else house_module.load_house(source)
        return ("houses", index), house

    def _start_controller(self, scene: str | dict[str, Any]) -> Any:
        if self._controller_class is None:
            try:
                self._controller_class = importlib.import_module("ai2thor.controller").Controller
            except ImportError as err:
                raise ThorUnavailableError(f"importing ai2thor failed ({err}). {_INSTALL}") from err
        arguments = self.config.controller_arguments()
        try:
            return self._controller_class(scene=scene, **arguments)
        except Exception as err:
            raise ThorStartError(
                f"AI2-THOR could not start Unity: {type(err).__name__}: {err}. The first start downloads "
                "the Unity build (network needed once); Linux needs an X display (controller_kwargs="
                "{'x_display': ':0'}, or run under Xvfb) or platform='CloudRendering' (headless, Vulkan "
                "GPU, apt-get install libvulkan1). See docs/thor_bridge.md."
            ) from err

    def _load(self, key: Any, scene: str | dict[str, Any]) -> None:
        """Bring ``scene`` up (Controller start or reset) and read its reachable positions."""
        if self._controller is None:
            self._controller = self._start_controller(scene)
        else:
            self._controller.reset(scene=scene)
        self._scene_key, self._reachable = None, []
        if isinstance(scene, dict):  # ProcTHOR: the house's own start pose first, as its generator does
            pose = dict(scene.get("metadata", {}).get("agent", {}))
            if self.config.agent == "locobot":
                pose.pop("standing", None)
            if pose:
                self._controller.step(action="TeleportFull", **pose)
        event = self._controller.step(action="GetReachablePositions")
        self._reachable = (
            list(event.metadata["actionReturn"] or []) if event.metadata["lastActionSuccess"] else []
        )
        if not self._reachable:
            raise ThorEpisodeError(
                f"scene {key}: GetReachablePositions found no position the agent can stand on"
            )
        self._scene_key = key

    def _geodesic(self, position: Mapping[str, float], object_ids: Sequence[str]) -> float:
        """Shortest path length from ``position`` to any of ``object_ids``; ``inf`` if THOR finds none."""
        return min((self._path_to(object_id, position) for object_id in object_ids), default=math.inf)

    def _path_to(self, object_id: str, position: Mapping[str, float]) -> float:
        """allenact's ``distance_to_object_id``: ``GetShortestPath`` with allowedError doubling from 0.05 m
        while below 2.5 m; the corners' length plus the offset from ``position`` to the first corner."""
        allowed = ALLOWED_ERROR[0]
        while allowed < ALLOWED_ERROR[1]:
            event = self._controller.step(
                action="GetShortestPath", objectId=object_id, position=dict(position), allowedError=allowed
            )
            if event.metadata["lastActionSuccess"]:
                corners = (event.metadata.get("actionReturn") or {}).get("corners")
                if corners:
                    return xz_distance(position, corners[0]) + polyline_length(corners)
            allowed *= 2
        return math.inf

    # ------------------------------------------------------------------ Gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = sorted(set(options) - set(RESET_OPTIONS))
        if unknown:
            raise ValueError(f"unknown reset options {unknown}; valid: {list(RESET_OPTIONS)}")
        if options.get("oracle"):
            raise ValueError(
                "the AI2-THOR adapter has no oracle (THOR has no shortest-path follower to replay); use "
                "policy=random_walk or a UIO-2 policy here, or the embedded objectnav suite's oracle"
            )
        episode_seed = seed if seed is not None else int(self.np_random.integers(2**31))
        key, scene = self._scene_for(episode_seed)
        if self._controller is None or key != self._scene_key:
            self._load(key, scene)
        present: dict[str, list[str]] = {}
        for obj in self._controller.last_event.metadata["objects"]:
            if obj["objectType"] in self.config.target_types:
                present.setdefault(obj["objectType"], []).append(obj["objectId"])
        wanted = options.get("object_type")
        if wanted is not None and wanted not in present:
            raise ThorEpisodeError(f"scene {key} has no {wanted!r}; its target types: {sorted(present)}")
        if not present:
            raise ThorEpisodeError(
                f"scene {key} has no object of the target types {list(self.config.target_types)}"
            )
        candidates = {wanted: present[wanted]} if wanted is not None else present
        self._event = self._place_agent(key, candidates)
        self._steps, self._path_length, self._done = 0, 0.0, False
        self._position = self._event.metadata["agent"]["position"]
        return self._observation(), self._info(success=False, moved=True)

    def _place_agent(self, key: Any, candidates: Mapping[str, list[str]]) -> Any:
        """Teleport to random reachable starts until some candidate type has a path from there; draw the
        target among those types and keep its geodesic (ProcTHOR-RL draws only reachable targets too)."""
        standing = {} if self.config.agent == "locobot" else {"standing": True}
        yaws = np.arange(0.0, 360.0, ROTATE_DEGREES)
        for _ in range(self.config.start_tries):
            position = self._reachable[int(self.np_random.integers(len(self._reachable)))]
            yaw = float(self.np_random.choice(yaws))
            event = self._controller.step(
                action="TeleportFull",
                position=dict(position),
                rotation={"x": 0.0, "y": yaw, "z": 0.0},
                horizon=START_HORIZON,
                **standing,
            )
            if not event.metadata["lastActionSuccess"]:
                continue
            start = event.metadata["agent"]["position"]
            distances = {t: self._geodesic(start, ids) for t, ids in sorted(candidates.items())}
            reachable = [t for t, d in distances.items() if math.isfinite(d)]
            if reachable:
                self._target_type = str(self.np_random.choice(reachable))
                self._target_ids = list(candidates[self._target_type])
                self._optimal = self._distance = distances[self._target_type]
                return event
        raise ThorEpisodeError(
            f"scene {key}: no start among {self.config.start_tries} random reachable positions has a path to "
            f"a {' or '.join(sorted(candidates))}"
        )

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if self._done:
            raise RuntimeError("step() after the episode ended (or before reset()): call reset() first")
        act = check_action(action)
        self._steps += 1
        success = False
        moved = True
        if act == END:
            success = self._target_visible()
        else:
            self._event = self._controller.step(action=ACTION_NAMES[act])
            moved = bool(self._event.metadata["lastActionSuccess"])
            position = self._event.metadata["agent"]["position"]
            self._path_length += xz_distance(self._position, position)
            self._position = position
            self._distance = self._geodesic(position, self._target_ids)
        terminated = act == END
        truncated = not terminated and self._steps >= self.config.max_episode_steps
        self._done = terminated or truncated
        info = self._info(success=success, moved=moved)
        if self._done:
            info["failure"] = not success
            info["failure_reason"] = (
                None if success else ("target_not_visible" if terminated else "step_limit")
            )
        reward = STEP_REWARD + (SUCCESS_REWARD if success else 0.0)
        return self._observation(), reward, terminated, truncated, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array" or self._event is None:
            return None
        return np.asarray(self._event.frame, dtype=np.uint8)

    def close(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        super().close()

    # ------------------------------------------------------------------ internals
    def _target_visible(self) -> bool:
        return any(
            obj["visible"] and obj["objectType"] == self._target_type
            for obj in self._event.metadata["objects"]
        )

    def _observation(self) -> dict[str, Any]:
        frame, depth = self._event.frame, self._event.depth_frame
        if frame is None or depth is None:
            raise RuntimeError(
                "THOR returned no RGB or depth frame; the Controller needs renderDepthImage=True"
            )
        return {
            "rgb": np.ascontiguousarray(frame, dtype=np.uint8),
            "depth": np.asarray(depth, dtype=np.float32)[..., None],
            "object_type": self._target_type,
        }

    def _info(self, *, success: bool, moved: bool) -> dict[str, Any]:
        metadata = self._event.metadata
        spl = 0.0
        if success:  # allenact's spl_metric
            walked, optimal = self._path_length, self._optimal
            spl = 1.0 if optimal == 0 and walked == 0 else optimal / max(walked, optimal)
        return {
            "agent": _plain_pose(metadata["agent"]),
            "lastActionSuccess": moved,
            "visible_objects": [
                {"objectId": o["objectId"], "objectType": o["objectType"], "distance": float(o["distance"])}
                for o in metadata["objects"]
                if o["visible"]
            ],
            "object_type": self._target_type,
            "success": success,
            "spl": float(spl),
            "distance_to_target": float(self._distance),
            "path_length": float(self._path_length),
            "episode_length": self._steps,
        }


_CONFIG_FIELDS = frozenset(f.name for f in dataclasses.fields(ThorConfig))


def make_from_name(name: EnvName, **kwargs: Any) -> ThorObjectNavEnv:
    """``make_env("thor[/procedural|/houses|/<Scene>]", houses=..., width=..., platform=..., ...)``:
    :class:`ThorConfig` fields and the :class:`ThorObjectNavEnv` options as keywords (module docstring)."""
    if name.level is not None:
        raise ValueError(
            f"{name}: thor has no levels; use 'thor/procedural', 'thor/houses' or 'thor/<Scene>'"
        )
    config = ThorConfig(**{k: kwargs.pop(k) for k in list(kwargs) if k in _CONFIG_FIELDS})
    task = name.task or "procedural"
    houses = kwargs.pop("houses", None)
    if task == "houses":
        if houses is None:
            raise ValueError("thor/houses needs houses=[house dict or JSON path, ...]")
        return ThorObjectNavEnv(config, houses=houses, **kwargs)
    if houses is not None:
        raise ValueError(f"{name}: houses= goes with 'thor/houses'")
    if task == "procedural":
        return ThorObjectNavEnv(config, **kwargs)
    return ThorObjectNavEnv(config, scene=task, **kwargs)
