"""A stand-in for habitat-lab's ``habitat`` package (core ``Env`` API), for testing the bridge without
habitat-sim. Runs under numpy 1.x and Python 3.8 (only numpy and the standard library).

Mimics what the adapter relies on: ``get_config(path, overrides=)`` returning a read-only config
(``config.read_write`` unlocks it; ``default_structured_configs`` holds the measurement configs),
``Env(config=)`` with ``observation_space`` (``rgb`` (256, 256, 3) uint8, ``depth`` (256, 256, 1) float32
in [0, 1], ``pointgoal_with_gps_compass`` (2,) float32), ``action_space`` (a Dict of empty spaces named
stop, move_forward, turn_left, turn_right), ``episodes``, ``current_episode`` (setter forces the next
reset's episode), obs-only ``reset()``, ``step(int)``, ``episode_over``, ``get_metrics()`` (habitat's
names and types: floats, ``collisions`` a dict, ``soft_spl``/``collisions`` only when configured),
``seed()``, ``sim.get_agent_state()`` (position array, numpy-quaternion-like rotation) and
``tasks.nav.shortest_path_follower.ShortestPathFollower``.

The world: a 10 m x 10 m empty room centred on the origin; habitat's conventions (y up, the agent
faces -z, TURN_LEFT adds 10 degrees of yaw, MOVE_FORWARD 0.25 m), walls stop the agent (a collision).
Test hook: the override ``fake.crash_on_step=N`` kills the process at step N (a segfaulting simulator).
"""

from __future__ import annotations

import math
import os
import signal
from typing import Any

import numpy as np

print("[fake habitat] imported")  # habitat logs at import: must not corrupt the pipe

CONFIGS = (
    "benchmark/nav/pointnav/pointnav_gibson.yaml",
    "benchmark/nav/pointnav/pointnav_mp3d.yaml",
    "benchmark/nav/pointnav/pointnav_hm3d.yaml",
)
HALF_SIZE = 5.0
STEP = 0.25
TURN = math.radians(10.0)


class Config:
    """Attribute config, read-only unless inside ``config.read_write`` (like habitat's OmegaConf)."""

    def __init__(self, **values: Any) -> None:
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_readonly", False)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if self._readonly:
            raise RuntimeError(
                f"cannot set {name!r}: the config is read-only (use habitat.config.read_write)"
            )
        self._values[name] = value

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def set_readonly(self, flag: bool) -> None:
        object.__setattr__(self, "_readonly", flag)
        for value in self._values.values():
            if isinstance(value, Config):
                value.set_readonly(flag)


def _parse(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def get_config(config_path: str, overrides: list[str] | None = None) -> Config:
    if config_path not in CONFIGS:
        raise FileNotFoundError(f"Could not find '{config_path}'")
    config = Config(
        habitat=Config(
            environment=Config(max_episode_steps=500),
            dataset=Config(split="val", data_path="data/datasets/pointnav/gibson/v1/{split}/{split}.json.gz"),
            task=Config(
                measurements=Config(
                    distance_to_goal=Config(type="DistanceToGoal"),
                    success=Config(type="Success", success_distance=0.2),
                    spl=Config(type="SPL"),
                    distance_to_goal_reward=Config(type="DistanceToGoalReward"),
                )
            ),
        ),
        fake=Config(crash_on_step=-1),
    )
    for override in overrides or []:
        key, _, value = override.partition("=")
        node = config
        *parents, leaf = key.split(".")
        for part in parents:
            node = getattr(node, part)
        if leaf not in node:
            raise KeyError(f"Could not override '{key}': key not in the config")
        setattr(node, leaf, _parse(value))
    config.set_readonly(True)
    return config


class Box:
    def __init__(self, low: float, high: float, shape: tuple, dtype: Any) -> None:
        self.dtype = np.dtype(dtype)
        self.shape = tuple(shape)
        self.low = np.full(self.shape, low, dtype=self.dtype)
        self.high = np.full(self.shape, high, dtype=self.dtype)


class SpaceDict:
    def __init__(self, spaces: dict[str, Any]) -> None:
        self.spaces = spaces


class EmptySpace:
    """An action without arguments (habitat.core.spaces.EmptySpace): no shape, no bounds."""


class Goal:
    def __init__(self, position: list[float]) -> None:
        self.position = position
        self.radius = 0.2


class Episode:
    def __init__(self, index: int, start: list[float], yaw: float, goal: list[float]) -> None:
        self.episode_id = str(index)
        self.scene_id = "fake/room.glb"
        self.start_position = start
        self.start_rotation = [0.0, math.sin(yaw / 2), 0.0, math.cos(yaw / 2)]
        self.goals = [Goal(goal)]
        self.yaw = yaw


EPISODES = [
    Episode(0, [0.0, 0.1, 0.0], 0.0, [0.0, 0.1, -2.0]),  # straight ahead
    Episode(1, [1.0, 0.1, 1.0], math.pi / 2, [-1.0, 0.1, 2.5]),
    Episode(2, [-4.0, 0.1, 4.0], math.pi, [3.0, 0.1, -3.0]),
]


class Quaternion:
    """numpy-quaternion's attribute names (w, x, y, z)."""

    def __init__(self, yaw: float) -> None:
        self.w, self.x, self.y, self.z = math.cos(yaw / 2), 0.0, math.sin(yaw / 2), 0.0


class AgentState:
    def __init__(self, position: np.ndarray, yaw: float) -> None:
        self.position = position
        self.rotation = Quaternion(yaw)


class Sim:
    def __init__(self) -> None:
        self.position = np.zeros(3, dtype=np.float32)
        self.yaw = 0.0
        self.collided = False

    def get_agent_state(self) -> AgentState:
        return AgentState(self.position.copy(), self.yaw)

    def seed(self, seed: int) -> None:
        self.seed_value = seed


def pointgoal(position: np.ndarray, yaw: float, goal: list[float]) -> np.ndarray:
    """habitat's [rho, -phi]: the goal in the agent frame, positive angle = to the left."""
    dx, dz = goal[0] - float(position[0]), goal[2] - float(position[2])
    right = math.cos(yaw) * dx - math.sin(yaw) * dz
    forward = -(math.sin(yaw) * dx + math.cos(yaw) * dz)
    return np.array([math.hypot(right, forward), -math.atan2(right, forward)], dtype=np.float32)


class Env:
    def __init__(self, config: Config) -> None:
        self._config = config
        self.sim = Sim()
        self.observation_space = SpaceDict(
            {
                "rgb": Box(0, 255, (256, 256, 3), np.uint8),
                "depth": Box(0.0, 1.0, (256, 256, 1), np.float32),
                "pointgoal_with_gps_compass": Box(-3.4e38, 3.4e38, (2,), np.float32),
            }
        )
        names = ("stop", "move_forward", "turn_left", "turn_right")
        self.action_space = SpaceDict({name: EmptySpace() for name in names})
        self.episodes = list(EPISODES)
        self._next = 0
        self._current: Episode | None = None
        self._forced = False
        self._over = True
        self._measures = config.habitat.task.measurements

    @property
    def current_episode(self) -> Episode:
        assert self._current is not None
        return self._current

    @current_episode.setter
    def current_episode(self, episode: Episode) -> None:
        self._current = episode
        self._forced = True

    @property
    def episode_over(self) -> bool:
        return self._over

    def seed(self, seed: int) -> None:
        self.sim.seed(seed)

    def reset(self) -> dict[str, np.ndarray]:
        if not self._forced:
            self._current = self.episodes[self._next % len(self.episodes)]
            self._next += 1
        self._forced = False
        episode = self.current_episode
        self.sim.position = np.array(episode.start_position, dtype=np.float32)
        self.sim.yaw = episode.yaw
        self.sim.collided = False
        self._steps = 0
        self._collisions = 0
        self._stop = False
        self._over = False
        self._path = 0.0
        self._d0 = self._distance()
        return self._observe()

    def step(self, action: int) -> dict[str, np.ndarray]:
        assert not self._over, "Episode over, call reset before calling step"
        self._steps += 1
        if self._steps == self._config.fake.crash_on_step:
            os.kill(os.getpid(), signal.SIGKILL)
        before = self.sim.position.copy()
        self.sim.collided = False
        if action == 0:
            self._stop = True
        elif action == 1:
            target = before + STEP * np.array(
                [-math.sin(self.sim.yaw), 0.0, -math.cos(self.sim.yaw)], np.float32
            )
            clipped = target.copy()
            clipped[[0, 2]] = np.clip(target[[0, 2]], -HALF_SIZE, HALF_SIZE)
            self.sim.collided = bool(np.any(clipped != target))
            self.sim.position = clipped.astype(np.float32)
        elif action == 2:
            self.sim.yaw += TURN
        elif action == 3:
            self.sim.yaw -= TURN
        else:
            raise ValueError(f"unknown action {action}")
        self._collisions += int(self.sim.collided)
        self._path += float(np.linalg.norm(self.sim.position - before))
        self._over = self._stop or self._steps >= self._config.habitat.environment.max_episode_steps
        return self._observe()

    def _distance(self) -> float:
        goal = self.current_episode.goals[0].position
        return float(math.hypot(goal[0] - self.sim.position[0], goal[2] - self.sim.position[2]))

    def _observe(self) -> dict[str, np.ndarray]:
        shade = int(self._steps * 7 + 40) % 256
        rgb = np.full((256, 256, 3), shade, dtype=np.uint8)
        rgb[:128, :, 0] = 200
        depth = np.full((256, 256, 1), min(self._distance() / 10.0, 1.0), dtype=np.float32)
        goal = self.current_episode.goals[0].position
        return {
            "rgb": rgb,
            "depth": depth,
            "pointgoal_with_gps_compass": pointgoal(self.sim.position, self.sim.yaw, goal),
        }

    def get_metrics(self) -> dict[str, Any]:
        d = self._distance()
        success = float(self._stop and d < self._measures.success.success_distance)
        ratio = self._d0 / max(self._d0, self._path)
        metrics: dict[str, Any] = {
            "distance_to_goal": np.float64(d),
            "success": success,
            "spl": success * ratio,
            "distance_to_goal_reward": 0.0,
        }
        if "soft_spl" in self._measures:
            metrics["soft_spl"] = max(0.0, 1.0 - d / self._d0) * ratio
        if "collisions" in self._measures:
            metrics["collisions"] = {"count": self._collisions, "is_collision": self.sim.collided}
        return metrics

    def close(self) -> None:
        self._over = True
