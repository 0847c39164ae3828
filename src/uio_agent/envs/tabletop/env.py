"""``TabletopEnv``: VIMA-Bench's environment interface on Gymnasium's API.

Observations, actions, ``prompt``/``prompt_assets``/``meta_info`` and success/failure follow
VIMA-Bench (reference §2-§7). Differences that the Gymnasium API needs: ``reset`` returns
``(obs, info)``; ``step`` returns five values with ``truncated`` once ``max_episode_steps``
(VIMA's evaluation budget ``oracle_max_steps + 2``, read at construction) is reached; actions are
validated (``ValueError`` naming the key) and positions outside the workspace are clipped
(``info["action_clipped"]``) instead of asserted.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from uio_agent.envs.tabletop.oracle import Oracle, PickPoint
from uio_agent.envs.tabletop.scene import BOUNDS, IMAGE_SIZE
from uio_agent.envs.tabletop.tasks.base import Outcome, SamplingError, Task
from uio_agent.envs.tabletop.world import ID_ARM, ID_EE_BASE, ID_EE_HEAD, World, yaw_from_quat_xyzw

VIEWS = ("front", "top")
#: Layouts drawn before a reset gives up (VIMA's evaluation also retries 10 times).
RESET_ATTEMPTS = 10
ACTION_SHAPES = {
    "pose0_position": (2,),
    "pose0_rotation": (4,),
    "pose1_position": (2,),
    "pose1_rotation": (4,),
}


def observation_space(modalities: Sequence[str]) -> gym.spaces.Dict:
    spaces: dict[str, gym.Space] = {}
    if "rgb" in modalities:
        spaces["rgb"] = gym.spaces.Dict(
            {v: gym.spaces.Box(0, 255, shape=(3, *IMAGE_SIZE), dtype=np.uint8) for v in VIEWS}
        )
    if "segm" in modalities:
        spaces["segm"] = gym.spaces.Dict(
            {v: gym.spaces.Box(0, 255, shape=IMAGE_SIZE, dtype=np.uint8) for v in VIEWS}
        )
    spaces["ee"] = gym.spaces.Discrete(2)
    return gym.spaces.Dict(spaces)


def action_space() -> gym.spaces.Dict:
    position = gym.spaces.Box(
        low=np.array([BOUNDS[0, 0], BOUNDS[1, 0]], dtype=np.float32),
        high=np.array([BOUNDS[0, 1], BOUNDS[1, 1]], dtype=np.float32),
        shape=(2,),
        dtype=np.float32,
    )
    rotation = gym.spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
    return gym.spaces.Dict(
        {
            "pose0_position": position,
            "pose0_rotation": rotation,
            "pose1_position": position,
            "pose1_rotation": rotation,
        }
    )


class TabletopEnv(gym.Env):
    """One VIMA task in MuJoCo. Build it with :func:`uio_agent.envs.tabletop.make`."""

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 2}  # noqa: RUF012 (Gymnasium's type)

    def __init__(
        self,
        task: Task,
        modalities: Sequence[Literal["rgb", "segm"]] = ("rgb", "segm"),
        seed: int | None = None,
        hide_arm_rgb: bool = True,
        render_mode: str | None = None,
        oracle_pick_point: PickPoint = "sample",
        max_episode_steps: int | None = None,
    ) -> None:
        mods: list[str] = [modalities] if isinstance(modalities, str) else list(modalities)
        unknown = set(mods) - {"rgb", "segm"}
        if unknown:
            raise ValueError(f"unsupported modalities {sorted(unknown)}: VIMA-Bench offers 'rgb' and 'segm'")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.task = task
        self.modalities = mods
        self.render_mode = render_mode
        self.hide_arm_rgb = hide_arm_rgb
        self.oracle_pick_point = oracle_pick_point
        self.observation_space = observation_space(mods)
        actions = action_space()
        self.action_space = actions
        self._action_bounds = {
            k: (s.low, s.high) for k, s in actions.spaces.items() if isinstance(s, gym.spaces.Box)
        }
        #: The official evaluation's TimeLimit, read once at construction as it does.
        self.max_episode_steps = task.oracle_max_steps + 2 if max_episode_steps is None else max_episode_steps
        self.world = World(task.pool(), hide_arm=hide_arm_rgb, end_effector=task.end_effector)
        if task.end_effector == "spatula":
            self.world.physics_hook = lambda: task.check_constraint(self)
        self.prompt: str | None = None
        self.prompt_assets: dict[str, Any] | None = None
        self.meta_info: dict[str, Any] = {}
        self._seed = seed
        self._oracle_mode = False
        self._elapsed = 0
        self._outcome = Outcome(False, False)
        task.set_seed(seed)
        if seed is not None:
            self.action_space.seed(seed)

    # ------------------------------------------------------------------ VIMA-Bench API

    @property
    def task_name(self) -> str:
        return self.task.task_name

    def seed(self, seed: int | None = None) -> int | None:
        """VIMA's ``env.seed(s)``: the next ``reset()`` (without a seed) starts episode ``s``."""
        self._seed = seed
        self.task.set_seed(seed)
        return seed

    @property
    def global_seed(self) -> int | None:
        return self._seed

    @global_seed.setter
    def global_seed(self, seed: int | None) -> None:
        self.seed(seed)

    def get_prompt_and_assets(self) -> tuple[str | None, dict[str, Any] | None]:
        return self.prompt, self.prompt_assets

    def oracle(self, pick_point: PickPoint | None = None) -> Oracle:
        """Same as ``env.task.oracle(env)``, with an optional pick-point rule (suction tasks)."""
        return self.task.oracle(self, pick_point)

    # ------------------------------------------------------------------ Gymnasium API

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        if seed is not None:
            self._seed = seed
            self.task.set_seed(seed)
            self.action_space.seed(seed)
        options = options or {}
        unknown = set(options) - {"oracle"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; supported: 'oracle'")
        self._oracle_mode = bool(options.get("oracle", False))
        for attempt in range(RESET_ATTEMPTS):
            self.world.clear()
            try:
                self.task.reset(self)
                break
            except SamplingError:
                # VIMA's evaluation retries a failed reset with seed + 1; we draw again from the
                # same seed's stream (deterministic), up to RESET_ATTEMPTS layouts.
                if attempt == RESET_ATTEMPTS - 1:
                    raise
        self.prompt, self.prompt_assets = self.task.generate_prompt(self)
        self._elapsed = 0
        self.meta_info = self._meta_info()
        self.world.settle()  # VIMA's reset ends with an action-less step: settle, then goal checks
        self.task.update_goals(self, skip_oracle=not self._oracle_mode)
        self._outcome = self.task.check_success(self)
        obs = self._observe()
        return obs, self._info(action_clipped=False, pick=None)

    def step(self, action: Mapping[str, Any]) -> tuple[dict, float, bool, bool, dict]:
        act, clipped = self._validate(action)
        picked = None
        if self.task.end_effector == "spatula":  # VIMA's push ignores the rotations
            self.world.push(act["pose0_position"], act["pose1_position"])
        else:
            yaw0 = yaw_from_quat_xyzw(act["pose0_rotation"])
            yaw1 = yaw_from_quat_xyzw(act["pose1_rotation"])
            picked = self.world.pick_place(act["pose0_position"], yaw0, act["pose1_position"], yaw1)
        self.world.settle()
        self.task.update_goals(self, skip_oracle=not self._oracle_mode)
        self._outcome = self.task.check_success(self)
        self._elapsed += 1
        terminated = self._outcome.success or self._outcome.failure
        truncated = not terminated and self._elapsed >= self.max_episode_steps
        obs = self._observe()
        info = self._info(action_clipped=clipped, pick=picked)
        info.update(self._pick_diagnostics(picked))
        return obs, 0.0, terminated, truncated, info

    def render(self) -> np.ndarray | None:
        """The front and top RGB views stacked (H, W, 3), for videos; VIMA's own render is a no-op."""
        if self.render_mode != "rgb_array":
            return None
        views = self.world.observe(VIEWS)
        return np.concatenate([views[v][0].transpose(1, 2, 0) for v in VIEWS], axis=0)

    def close(self) -> None:
        self.world.renderer.close()

    # ------------------------------------------------------------------ internals

    def _validate(self, action: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], bool]:
        if not isinstance(action, Mapping):
            raise ValueError(
                f"action must be a dict with keys {sorted(ACTION_SHAPES)}, got {type(action).__name__}"
            )
        out, clipped = {}, False
        for key, shape in ACTION_SHAPES.items():
            if key not in action:
                raise ValueError(f"action is missing key {key!r} (expected {sorted(ACTION_SHAPES)})")
            try:
                value = np.asarray(action[key], dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"action[{key!r}] is not numeric: {exc}") from exc
            if value.shape != shape:
                raise ValueError(f"action[{key!r}] has shape {value.shape}, expected {shape}")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"action[{key!r}] is not finite: {value.tolist()}")
            bounded = np.clip(value, *self._action_bounds[key])
            clipped |= bool(np.any(bounded != value))
            out[key] = bounded
        extra = set(action) - set(ACTION_SHAPES)
        if extra:
            raise ValueError(f"action has unknown keys {sorted(extra)}")
        return out, clipped

    def _observe(self) -> dict[str, Any]:
        views = self.world.observe(VIEWS)
        obs: dict[str, Any] = {}
        if "rgb" in self.modalities:
            obs["rgb"] = {v: views[v][0] for v in VIEWS}
        if "segm" in self.modalities:
            obs["segm"] = {v: views[v][1] for v in VIEWS}
        obs["ee"] = 0 if self.task.end_effector == "suction" else 1
        return obs

    def _info(self, action_clipped: bool, pick: int | None) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "prompt_assets": copy.deepcopy(self.prompt_assets),  # infos never share objects (Gymnasium)
            "success": bool(self._outcome.success),
            "failure": bool(self._outcome.failure),
            "failure_reason": self._outcome.reason,
            "action_clipped": action_clipped,
            "picked_obj_id": pick,  # pick/place diagnostics: the object the cup gripped, if any
            "elapsed_steps": self._elapsed,
        }

    def _pick_diagnostics(self, picked: int | None) -> dict[str, Any]:
        """Whether the cup took a goal object, and how far from its nearest target it landed (m)."""
        if picked is None:
            return {"picked_correct_object": False, "place_error": None}
        targets = [t for g in self.task.all_goals for o, _ in g.objects if o == picked for t in g.targets]
        if not targets:
            return {"picked_correct_object": False, "place_error": None}
        xy = self.world.pose(picked)[0][:2]
        return {
            "picked_correct_object": True,
            "place_error": min(float(np.linalg.norm(xy - t[0][:2])) for t in targets),
        }

    def _meta_info(self) -> dict[str, Any]:
        obj_info = {
            obj_id: {**placed.spec.info(), **placed.texture.info()}
            for obj_id, placed in self.world.objects.items()
        }
        return copy.deepcopy(
            {
                "end_effector_type": self.task.end_effector,
                "n_objects": len(self.world.objects),
                "difficulty": "easy",
                "views": list(VIEWS),
                "modalities": list(self.modalities),
                "seed": self.task.seed,
                "action_bounds": {"low": BOUNDS[:2, 0].tolist(), "high": BOUNDS[:2, 1].tolist()},
                "robot_components": [ID_ARM, ID_EE_BASE, ID_EE_HEAD]
                if self.task.end_effector == "suction"
                else [ID_ARM, ID_EE_BASE],
                "obj_id_to_info": obj_info,
            }
        )
