"""What every VIMA task shares: goals, VIMA's matching rule, success/failure, prompts, sampling."""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from uio_agent.envs.tabletop.catalog import (
    NEUTRAL_GRAY,
    ObjectSpec,
    TextureSpec,
    lookup_object,
    lookup_texture,
)
from uio_agent.envs.tabletop.scene import BOUNDS, PoolKey

if TYPE_CHECKING:
    from uio_agent.envs.tabletop.env import TabletopEnv
    from uio_agent.envs.tabletop.oracle import Oracle, PickPoint

#: A position far from the table where prompt-only objects are activated, rendered and parked again.
OFFSTAGE_XY = np.array([3.0, 3.0])


class SamplingError(ValueError):
    """An episode could not be laid out (VIMA's "Error in sampling ..."): the env draws again."""


@dataclass
class Goal:
    """VIMA's goal tuple: objects (id, symmetry) to bring to any of ``targets`` (position, yaw)."""

    objects: list[tuple[int, float]]
    targets: list[tuple[np.ndarray, float]]
    rotations: bool = True
    oracle_only: bool = False


@dataclass
class Placeholder:
    """An image placeholder of the prompt: an object shown alone (optionally in neutral grey)."""

    obj_id: int
    name: str
    texture: TextureSpec
    neutral: bool = False
    types: tuple[str, ...] = ("image",)
    prepend_color: bool = True
    #: An already rendered asset (scene placeholders, prompt-only objects); ``obj_id`` is then unused.
    asset: dict[str, Any] | None = None


@dataclass
class Outcome:
    success: bool
    failure: bool
    reason: str | None = None


def resolve_objects(value: str | Sequence[str] | None, default: Sequence[str]) -> list[ObjectSpec]:
    names = default if value is None else ([value] if isinstance(value, str) else list(value))
    if not names:
        raise ValueError("an object list must not be empty")
    return [lookup_object(n) for n in names]


def resolve_textures(value: str | Sequence[str] | None, default: Sequence[str]) -> list[TextureSpec]:
    names = default if value is None else ([value] if isinstance(value, str) else list(value))
    if not names:
        raise ValueError("a texture list must not be empty")
    return [lookup_texture(n) for n in names]


def yaw_difference(a: float, b: float, symmetry: float) -> float:
    """VIMA's rotational error modulo the object's symmetry."""
    diff = abs(a - b) % symmetry
    return symmetry - diff if diff > symmetry / 2 else diff


class Task(abc.ABC):
    """Base of the tasks. Subclasses fill ``goals``, ``distractors`` and ``placeholders`` in ``reset``."""

    task_name: ClassVar[str]
    group: ClassVar[str]
    end_effector: ClassVar[str] = "suction"
    REJECT_SAMPLING_MAX_TIMES: ClassVar[int] = 10

    def __init__(self, oracle_max_steps: int, seed: int | None = None) -> None:
        self.oracle_max_steps = oracle_max_steps
        self.pos_eps = 0.1
        self.rot_eps = math.radians(15)
        self.prompt_template = ""
        self.goals: list[Goal] = []
        self._all_goals: list[Goal] = []
        self.distractors: list[tuple[int, float]] = []
        self.placeholders: dict[str, Placeholder] = {}
        #: Text-only slots of the template (``{name}`` -> words), filled before the image placeholders.
        self.text_slots: dict[str, str] = {}
        self.set_seed(seed)

    # ------------------------------------------------------------------ to override

    @abc.abstractmethod
    def pool(self) -> dict[PoolKey, int]:
        """How many copies of each object one episode may need (sizes the compiled model)."""

    @abc.abstractmethod
    def reset(self, env: TabletopEnv) -> None:
        """Sample the episode: objects, poses, goals, prompt and placeholders."""

    # ------------------------------------------------------------------ shared behaviour

    @property
    def all_goals(self) -> list[Goal]:
        """Every goal of the episode, met or not (VIMA's ``_all_goals``)."""
        return self._all_goals

    def set_seed(self, seed: int | None) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def begin(self) -> None:
        self.goals, self._all_goals, self.distractors, self.placeholders = [], [], [], {}
        self.text_slots = {}

    def oracle(self, env: TabletopEnv, pick_point: PickPoint | None = None) -> Oracle:
        from uio_agent.envs.tabletop.oracle import Oracle

        return Oracle(env, pick_point)

    def check_constraint(self, env: TabletopEnv) -> None:
        """Called during pushes and settling (VIMA's ``check_constraint``); only sweeps use it."""
        return None

    def choice(self, items: Sequence[Any]) -> Any:
        """``rng.choice`` over a list of objects (numpy would turn them into an array)."""
        return items[int(self.rng.choice(len(items)))]

    def choices(self, items: Sequence[Any], size: int, replace: bool = True) -> list[Any]:
        return [items[int(i)] for i in self.rng.choice(len(items), size=size, replace=replace)]

    def sample_size(self, spec: ObjectSpec) -> np.ndarray:
        return self.rng.uniform(low=spec.size_range.low, high=spec.size_range.high)

    def is_match(
        self, env: TabletopEnv, obj_id: int, target: tuple[np.ndarray, float], symmetry: float
    ) -> bool:
        pos, yaw = env.world.pose(obj_id)
        if float(np.linalg.norm(np.float32(pos[:2]) - np.float32(target[0][:2]))) >= self.pos_eps:
            return False
        return not symmetry or yaw_difference(yaw, target[1], symmetry) < self.rot_eps

    def _goal_met(self, env: TabletopEnv, goal: Goal) -> bool:
        return all(any(self.is_match(env, o, t, sym) for t in goal.targets) for o, sym in goal.objects)

    def update_goals(self, env: TabletopEnv, skip_oracle: bool = True) -> None:
        """VIMA's base rule: check the first goal (the first agent goal with ``skip_oracle``), pop it when met."""
        candidates = [i for i, g in enumerate(self.goals) if not (skip_oracle and g.oracle_only)]
        if candidates and self._goal_met(env, self.goals[candidates[0]]):
            del self.goals[candidates[0]]

    def distractor_ok(self, env: TabletopEnv, distractor: tuple[int, float]) -> bool:
        """VIMA's ``check_distractors``: no distractor at a target, no goal object at a distractor."""
        d_id, d_sym = distractor
        d_pos, d_yaw = env.world.pose(d_id)
        for goal in self._all_goals:
            if goal.oracle_only:
                continue
            if any(self.is_match(env, d_id, t, d_sym) for t in goal.targets):
                return False
            if any(self.is_match(env, o, (d_pos, d_yaw), sym) for o, sym in goal.objects):
                return False
        return True

    def check_success(self, env: TabletopEnv) -> Outcome:
        for distractor in self.distractors:
            if not self.distractor_ok(env, distractor):
                return Outcome(False, True, "distractor_at_target")
        if not self.goals:
            return Outcome(True, False)
        for goal in self.goals:
            for obj_id, _ in goal.objects:
                pos, _ = env.world.pose(obj_id)
                xy = pos[:2].astype(np.float32)
                if not (BOUNDS[0, 0] <= xy[0] <= BOUNDS[0, 1] and BOUNDS[1, 0] <= xy[1] <= BOUNDS[1, 1]):
                    return Outcome(False, True, "object_left_workspace")
        return Outcome(False, False)

    def generate_prompt(self, env: TabletopEnv) -> tuple[str, dict[str, Any]]:
        """Fill text expressions into the template, keep ``{name}`` for images, render the assets."""
        prompt = self.prompt_template
        for name, text_slot in self.text_slots.items():
            prompt = prompt.replace("{" + name + "}", text_slot)
        assets: dict[str, Any] = {}
        for name, ph in self.placeholders.items():
            words = []
            for kind in ph.types:
                if kind == "image":
                    words.append("{" + name + "}")
                    assets[name] = ph.asset if ph.asset is not None else self._object_asset(env, ph)
                else:
                    text = ph.name if kind == "name" else kind
                    words.append(f"{ph.texture.name} {text}" if ph.prepend_color else text)
            prompt = prompt.replace("{" + name + "}", " ".join(words))
        return prompt, assets

    def scene_placeholder(self, env: TabletopEnv, layout: list[tuple[int, np.ndarray, float]]) -> Placeholder:
        """A scene placeholder (rendered now: the episode's objects move on afterwards)."""
        return Placeholder(-1, "scene", NEUTRAL_GRAY, asset=self.scene_asset(env, layout))

    def temp_object_asset(
        self,
        env: TabletopEnv,
        spec: ObjectSpec,
        texture: TextureSpec,
        size: np.ndarray,
        neutral: bool = False,
    ) -> dict[str, Any]:
        """An object placeholder for an object that is not in the episode (VIMA renders it apart)."""
        obj_id = env.world.add_object(spec, texture, size, OFFSTAGE_XY, 0.0)
        try:
            return self._object_asset(env, Placeholder(obj_id, spec.name, texture, neutral))
        finally:
            env.world.remove_object(obj_id)

    def temp_scene_asset(
        self,
        env: TabletopEnv,
        layout: list[tuple[int, np.ndarray, float]],
        extra: list[tuple[ObjectSpec, TextureSpec, np.ndarray, np.ndarray, float]],
    ) -> dict[str, Any]:
        """A scene of episode objects (``layout``) plus objects that only appear in the image
        (``extra``: spec, texture, size, xy or xyz, yaw), activated for the render and parked again."""
        added: list[int] = []
        try:
            full = list(layout)
            for spec, texture, size, xy, yaw in extra:
                obj_id = env.world.add_object(spec, texture, size, OFFSTAGE_XY + 0.5 * len(added), 0.0)
                added.append(obj_id)
                full.append((obj_id, xy, yaw))
            return self.scene_asset(env, full)
        finally:
            for obj_id in reversed(added):
                env.world.remove_object(obj_id)

    def scene_asset(self, env: TabletopEnv, layout: list[tuple[int, np.ndarray, float]]) -> dict[str, Any]:
        """A ``"scene"`` placeholder (goal layouts, video frames): the objects of ``layout`` (id, xy, yaw)."""
        imgs = env.world.render_scene(layout)
        objects = env.world.objects
        obj_info = [
            {"obj_id": 2 + k, "obj_name": objects[i].spec.name, "obj_color": objects[i].texture.name}
            for k, (i, _, _) in enumerate(layout)
        ]
        return {
            "rgb": {"front": imgs["rgb_front"], "top": imgs["rgb_top"]},
            "segm": {"front": imgs["segm_front"], "top": imgs["segm_top"], "obj_info": obj_info},
            "placeholder_type": "scene",
        }

    def _object_asset(self, env: TabletopEnv, ph: Placeholder) -> dict[str, Any]:
        texture = NEUTRAL_GRAY if ph.neutral else ph.texture
        imgs = env.world.render_object_alone(ph.obj_id, texture if ph.neutral else None)
        return {
            "rgb": {"front": imgs["rgb_front"], "top": imgs["rgb_top"]},
            "segm": {
                "front": imgs["segm_front"],
                "top": imgs["segm_top"],
                "obj_info": {"obj_id": 0, "obj_name": ph.name, "obj_color": texture.name},
            },
            "placeholder_type": "object",
        }
