"""A stand-in for ``vima_bench`` with its gym-0.21 API, for testing the bridge without pybullet.

Mimics what the adapter relies on: ``make(task_name, task_kwargs=, modalities=, seed=,
hide_arm_rgb=)``, ``PARTITION_TO_SPECS``, gym-0.21-like spaces (Box rejects float64 and out-of-bound
actions), obs-only ``reset``, 4-tuple ``step(action, skip_oracle=True)``, ``seed()``, ``prompt``,
``prompt_assets``, ``meta_info`` holding functions and paths, ``task.oracle(env).act(obs)`` and
``task.oracle_max_steps``. Runs under numpy 1.x and Python 3.8 (only numpy and the standard library).

The scene: objects on a 0.5 m x 1 m table; each goal moves one object (picked within 0.05 m) to a
target (within 0.1 m). Placing anything at y < -0.45 is a failure. Test hooks through
``task_kwargs``: ``fail_reset_seeds`` (reset raises for these seeds), ``crash_on_step`` (the process
dies with SIGKILL at that step, like a segfaulting simulator), ``raise_on_step``.
"""

from __future__ import annotations

import enum
import os
import pathlib
import signal
from typing import Any, NamedTuple

import numpy as np

#: task -> (group, oracle_max_steps, number of goals)
_TASKS = {
    "visual_manipulation": ("instruction_following", 3, 1),
    "rotate": ("instruction_following", 3, 1),
    "rearrange": ("rearrangement", 5, 2),
    "follow_motion": ("one_shot_imitation", 4, 2),
    "sweep_without_exceeding": ("constraint_satisfaction", 8, 1),
}
ALL_TASKS = [f"{group}/{name}" for name, (group, _, _) in _TASKS.items()]
ALL_PARTITIONS = [
    "placement_generalization",
    "combinatorial_generalization",
    "novel_object_generalization",
    "novel_task_generalization",
]
_L1 = {name: {"possible_dragged_obj_texture": ["red", "green"]} for name in _TASKS if name != "follow_motion"}
PARTITION_TO_SPECS = {
    "train": _L1,
    "test": {
        "placement_generalization": _L1,
        "combinatorial_generalization": {k: {"possible_dragged_obj_texture": ["blue"]} for k in _L1},
        "novel_object_generalization": {k: None for k in _L1 if not k.startswith("sweep")},
        "novel_task_generalization": {"follow_motion": None},
    },
}
BOUNDS = np.array([[0.25, 0.75], [-0.5, 0.5]], dtype=np.float32)
IMAGE = (128, 256)

print(
    f"[INFO] {len(ALL_TASKS)} fake tasks loaded"
)  # VIMA-Bench prints at import too: must not corrupt the pipe


class Box:
    """gym 0.21's Box: float64 input is rejected (can_cast), as are shapes and values out of bounds."""

    def __init__(self, low: Any, high: Any, shape: tuple, dtype: Any) -> None:
        self.dtype = np.dtype(dtype)
        self.shape = tuple(shape)
        self.low = np.full(self.shape, low, dtype=self.dtype)
        self.high = np.full(self.shape, high, dtype=self.dtype)

    def contains(self, x: Any) -> bool:
        if not isinstance(x, np.ndarray) or not np.can_cast(x.dtype, self.dtype):
            return False
        return x.shape == self.shape and bool(np.all(x >= self.low)) and bool(np.all(x <= self.high))


class Discrete:
    def __init__(self, n: int) -> None:
        self.n = n

    def contains(self, x: Any) -> bool:
        return isinstance(x, (int, np.integer)) and 0 <= int(x) < self.n


class Dict:
    def __init__(self, spaces: dict) -> None:
        self.spaces = dict(sorted(spaces.items()))

    def contains(self, x: Any) -> bool:
        return (
            isinstance(x, dict)
            and len(x) == len(self.spaces)
            and all(k in x and s.contains(x[k]) for k, s in self.spaces.items())
        )


class SizeRange(NamedTuple):
    low: tuple
    high: tuple


class Profile(enum.Enum):
    SQUARE_LIKE = 0
    CIRCLE_LIKE = 1


def _grey_texture() -> str:
    return "plain"


class _Oracle:
    def __init__(self, env: FakeEnv) -> None:
        self.env = env

    def act(self, obs: Any) -> Any:
        del obs
        if not self.env.goals:
            return None
        obj, target = self.env.goals[0]
        return {
            "pose0_position": self.env.positions[obj].astype(np.float32),
            "pose0_rotation": np.array([0, 0, 0, 1], dtype=np.float32),
            "pose1_position": target.astype(np.float32),
            "pose1_rotation": np.array([0, 0, 0.7071068, 0.7071068], dtype=np.float32),
        }


class _Task:
    def __init__(self, name: str, oracle_max_steps: int, n_goals: int, **kwargs: Any) -> None:
        self.task_name = name
        self.oracle_max_steps = oracle_max_steps
        self.n_goals = n_goals
        self.kwargs = kwargs
        self.seed: Any = None

    def oracle(self, env: FakeEnv) -> _Oracle:
        return _Oracle(env)


class FakeEnv:
    def __init__(self, task: _Task, modalities: Any, seed: Any, hide_arm_rgb: bool) -> None:
        self.task = task
        self.modalities = list(modalities or ["rgb", "segm"])
        self.hide_arm_rgb = hide_arm_rgb
        spaces: dict = {}
        if "rgb" in self.modalities:
            spaces["rgb"] = Dict({v: Box(0, 255, (3, *IMAGE), np.uint8) for v in ("front", "top")})
        if "segm" in self.modalities:
            spaces["segm"] = Dict({v: Box(0, 255, IMAGE, np.uint8) for v in ("front", "top")})
        spaces["ee"] = Discrete(2)
        self.observation_space = Dict(spaces)
        position = Box(0, 0, (2,), np.float32)
        position.low, position.high = BOUNDS[:, 0].copy(), BOUNDS[:, 1].copy()
        rotation = Box(-1.0, 1.0, (4,), np.float32)
        self.action_space = Dict(
            {
                "pose0_position": position,
                "pose0_rotation": rotation,
                "pose1_position": position,
                "pose1_rotation": rotation,
            }
        )
        self.prompt: Any = None
        self.prompt_assets: Any = None
        self.meta_info: dict = {}
        self.step_count = 0
        self.resets = 0
        self.closed = False
        self.seed(seed)

    @property
    def task_name(self) -> str:
        return self.task.task_name

    def seed(self, seed: Any = None) -> Any:
        self._rng = np.random.default_rng(seed)
        self._seed = seed
        self.task.seed = seed
        return seed

    def reset(self) -> dict:
        self.resets += 1
        if self._seed in self.task.kwargs.get("fail_reset_seeds", ()):
            raise RuntimeError(f"fake placement failed for seed {self._seed}")
        n = self.task.n_goals + 1
        self.positions = {5 + i: self._random_xy() for i in range(n)}
        self.goals = [(5 + i, self._random_xy()) for i in range(self.task.n_goals)]
        self.step_count = 0
        if self.task.task_name == "follow_motion":
            self.task.oracle_max_steps = self.task.n_goals  # changes on reset, as VIMA-Bench's does
        self.prompt = "Rotate the {dragged_obj} 90 degrees."
        self.prompt_assets = {
            "dragged_obj": {
                "rgb": {"front": self._image(5), "top": self._image(5)},
                "segm": {
                    "front": np.full(IMAGE, 0, dtype=np.uint8),
                    "top": np.full(IMAGE, 0, dtype=np.uint8),
                    "obj_info": {"obj_id": np.int64(0), "obj_name": "letter A", "obj_color": "red"},
                },
                "placeholder_type": "object",
            }
        }
        self.meta_info = {
            "end_effector_type": "suction",
            "n_objects": n,
            "difficulty": "easy",
            "views": ["front", "top"],
            "modalities": self.modalities,
            "seed": self._seed,
            "action_bounds": {"low": BOUNDS[:, 0].copy(), "high": BOUNDS[:, 1].copy()},
            "robot_components": [2, 3, 4],
            "obj_id_to_info": {
                obj: {
                    "obj_name": "letter A",
                    "obj_assets": "kitting/object-template.urdf",
                    "obj_size_range": SizeRange((0.08, 0.08, 0.02), (0.09, 0.09, np.float32(0.02))),
                    "obj_profile": Profile.CIRCLE_LIKE,
                    "obj_scale": np.array([0.08, 0.08, 0.02]),
                    "obj_replace_fn": _grey_texture,
                    "obj_pose_transform_fn": lambda pose: pose,
                    "obj_template_file": pathlib.PurePosixPath("/site-packages/assets/kitting.urdf"),
                    "obj_symmetry": np.float64(2 * np.pi),
                    "texture_color_value": (1.0, 0.3, 0.3),
                }
                for obj in self.positions
            },
        }
        obs, _, _, _ = self.step()
        return obs

    def step(self, action: Any = None, skip_oracle: bool = True) -> tuple:
        info_extra = {"fake_skip_oracle": skip_oracle}
        if action is not None:
            assert self.action_space.contains(action), (
                f"got {action} instead, action space {self.action_space}"
            )
            self.step_count += 1
            hooks = self.task.kwargs
            if hooks.get("crash_on_step") == self.step_count:
                os.kill(os.getpid(), signal.SIGKILL)
            if hooks.get("raise_on_step") == self.step_count:
                raise ValueError("fake simulator exploded")
            pick = np.asarray(action["pose0_position"])
            for obj, xy in self.positions.items():
                if np.linalg.norm(xy - pick) < 0.05:
                    self.positions[obj] = np.asarray(action["pose1_position"], dtype=np.float64)
                    break
            if skip_oracle is False:
                info_extra["fake_oracle_bookkeeping"] = True
        self.goals = [(o, t) for o, t in self.goals if np.linalg.norm(self.positions[o] - t) >= 0.1]
        failure = any(xy[1] < -0.45 for xy in self.positions.values())
        success = not self.goals and not failure
        info = {"prompt": self.prompt, "success": success, "failure": failure}
        info.update(info_extra)
        return self._obs(), 0.0, success or failure, info

    def close(self) -> None:
        self.closed = True

    def _random_xy(self) -> np.ndarray:
        return np.array([self._rng.uniform(0.3, 0.7), self._rng.uniform(-0.4, 0.4)])

    def _image(self, obj: int) -> np.ndarray:
        image = np.full((3, *IMAGE), 40, dtype=np.uint8)
        if obj in self.positions:
            x, y = self.positions[obj]
            row = int((x - 0.25) / 0.5 * (IMAGE[0] - 8))
            col = int((y + 0.5) * (IMAGE[1] - 8))
            image[:, row : row + 8, col : col + 8] = np.array([255, 90, 90], dtype=np.uint8)[:, None, None]
        return image

    def _obs(self) -> dict:
        obs: dict = {}
        if "rgb" in self.modalities:
            obs["rgb"] = {"front": self._image(5), "top": self._image(5)}
        if "segm" in self.modalities:
            segm = (self._image(5)[0] == 255).astype(np.uint8) * 5
            obs["segm"] = {"front": segm, "top": segm.copy()}
        obs["ee"] = 0
        assert self.observation_space.contains(obs)
        return obs


def make(
    task_name: str,
    *,
    task_kwargs: Any = None,
    modalities: Any = None,
    seed: Any = None,
    hide_arm_rgb: bool = True,
    **_: Any,
) -> FakeEnv:
    short = task_name.split("/")[-1]
    if short not in _TASKS:
        raise ValueError(f"unknown fake task {task_name!r}")
    _, max_steps, n_goals = _TASKS[short]
    return FakeEnv(
        _Task(short, max_steps, n_goals, **dict(task_kwargs or {})), modalities, seed, hide_arm_rgb
    )
