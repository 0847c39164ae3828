"""The habitat-lab side of the bridge: runs inside the interpreter that has habitat-sim and habitat-lab.

Loaded by file path by ``uio_agent/envs/remote.py`` in a worker process (or imported in-process when
``habitat`` imports in ours), so it imports only the standard library, numpy and habitat, and keeps to
Python 3.8 syntax and numpy 1.x APIs. It owns one ``habitat.Env`` (the core API: observations,
``get_metrics()``, ``episode_over``, the agent state) and answers with plain data: observations as
arrays, metrics as numbers, the agent pose as lists, and the greedy follower's next action in oracle mode.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

#: metrics the adapter reports in ``info``; added to the task config when the benchmark leaves them out
EXTRA_MEASUREMENTS = ("soft_spl", "collisions")


def describe_space(space: Any) -> dict[str, Any]:
    """A gym space as plain data, read by duck typing (same format as ``vima_bench_worker.describe_space``;
    duplicated because a worker file cannot import its siblings)."""
    spaces = getattr(space, "spaces", None)
    if isinstance(spaces, dict):
        return {"type": "Dict", "spaces": {str(k): describe_space(v) for k, v in spaces.items()}}
    if hasattr(space, "n"):
        return {"type": "Discrete", "n": int(space.n), "start": int(getattr(space, "start", 0))}
    if hasattr(space, "low") and hasattr(space, "high"):
        return {
            "type": "Box",
            "low": np.asarray(space.low),
            "high": np.asarray(space.high),
            "shape": [int(s) for s in space.shape],
            "dtype": np.dtype(space.dtype).str,
        }
    raise TypeError(f"cannot describe space {space!r}: expected a gym Dict, Discrete or Box")


def _plain(value: Any) -> Any:
    """Metrics as data that crosses the pipe (numpy scalars become Python numbers, dicts stay dicts)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str, np.ndarray)):
        return value
    return None


def _quaternion_xyzw(rotation: Any) -> list[float]:
    """habitat-sim's agent rotation (a numpy-quaternion with w, x, y, z, or a sequence x, y, z, w)."""
    if hasattr(rotation, "w"):
        return [float(rotation.x), float(rotation.y), float(rotation.z), float(rotation.w)]
    return [float(v) for v in rotation]


class HabitatWorker:
    """One habitat-lab PointNav environment with the data-only methods the adapter calls."""

    def __init__(
        self,
        config_path: str,
        overrides: list[str] | None = None,
        module: str = "habitat",
    ) -> None:
        self.habitat = importlib.import_module(module)
        config = self.habitat.get_config(config_path, overrides=list(overrides or []))
        self._add_measurements(module, config)
        self.config = config
        self.env = self.habitat.Env(config=config)
        follower_module = importlib.import_module(module + ".tasks.nav.shortest_path_follower")
        self._follower_cls = follower_module.ShortestPathFollower
        self._follower: Any = None
        self._oracle = False
        task = config.habitat.task
        self.success_distance = float(task.measurements.success.success_distance)
        self.max_episode_steps = int(config.habitat.environment.max_episode_steps)

    def _add_measurements(self, module: str, config: Any) -> None:
        """SoftSPL and collisions are off in habitat-lab's PointNav task config; the adapter reports them."""
        read_write = importlib.import_module(module + ".config").read_write
        structured = importlib.import_module(module + ".config.default_structured_configs")
        classes = {"soft_spl": "SoftSPLMeasurementConfig", "collisions": "CollisionsMeasurementConfig"}
        with read_write(config):
            measurements = config.habitat.task.measurements
            for name in EXTRA_MEASUREMENTS:
                if name not in measurements:
                    setattr(measurements, name, getattr(structured, classes[name])())

    def describe(self) -> dict[str, Any]:
        """Spaces, limits and versions, read once by the adapter."""
        # habitat's ActionSpace is a Dict of argument-less EmptySpaces keyed by action name, in id order
        actions = getattr(self.env.action_space, "spaces", None)
        return {
            "observation_space": describe_space(self.env.observation_space),
            "actions": [str(name) for name in actions] if isinstance(actions, dict) else [],
            "episodes": len(self.env.episodes),
            "max_episode_steps": self.max_episode_steps,
            "success_distance": self.success_distance,
            "module_file": str(getattr(self.habitat, "__file__", "")),
            "numpy": np.__version__,
        }

    def reset(
        self, seed: int | None = None, episode_index: int | None = None, oracle: bool = False
    ) -> dict[str, Any]:
        """Episode ``episode_index``, else ``seed mod len(episodes)``, else the iterator's next one."""
        episodes = self.env.episodes
        if seed is not None:
            self.env.seed(int(seed))
        index = (
            episode_index if episode_index is not None else (None if seed is None else seed % len(episodes))
        )
        if index is not None:
            if not 0 <= index < len(episodes):
                raise ValueError(f"episode_index {index} outside the dataset's {len(episodes)} episodes")
            self.env.current_episode = episodes[index]
        obs = self.env.reset()
        self._oracle = bool(oracle)
        self._follower = (
            self._follower_cls(self.env.sim, self.success_distance, return_one_hot=False) if oracle else None
        )
        episode = self.env.current_episode
        result = self._report(obs)
        result["episode"] = {
            "episode_id": str(episode.episode_id),
            "scene_id": str(episode.scene_id),
            "start_position": [float(v) for v in episode.start_position],
            "start_rotation": [float(v) for v in episode.start_rotation],
            "goal_position": [float(v) for v in episode.goals[0].position],
            "index": index,
        }
        return result

    def step(self, action: int) -> dict[str, Any]:
        obs = self.env.step(int(action))
        return self._report(obs)

    def _report(self, obs: Any) -> dict[str, Any]:
        state = self.env.sim.get_agent_state()
        over = bool(self.env.episode_over)
        oracle_action = None
        if self._follower is not None and not over:
            goal = self.env.current_episode.goals[0].position
            action = self._follower.get_next_action(goal)
            oracle_action = None if action is None else int(action)
        return {
            "obs": {str(k): np.asarray(v) for k, v in dict(obs).items()},
            "metrics": _plain(self.env.get_metrics()),
            "agent_position": [float(v) for v in np.asarray(state.position).reshape(-1)[:3]],
            "agent_rotation": _quaternion_xyzw(state.rotation),
            "episode_over": over,
            "oracle_action": oracle_action,
        }

    def close(self) -> None:
        self.env.close()
