"""``scene_understanding``: "Put the <texture> object in {scene} into the <texture> object." (VIMA's
SceneUnderstanding): the dragged object is named by its texture and shown in a scene image among
distractors; distractors in the workspace share the dragged texture (other shapes) or the base's
shape (other textures)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from uio_agent.envs.tabletop.catalog import (
    DEFAULT_BASE_TEXTURES,
    DEFAULT_DRAGGED_TEXTURES,
    ObjectSpec,
    TextureSpec,
)
from uio_agent.envs.tabletop.scene import PoolKey
from uio_agent.envs.tabletop.tasks.base import (
    Goal,
    Outcome,
    Placeholder,
    SamplingError,
    Task,
    resolve_objects,
    resolve_textures,
)
from uio_agent.envs.tabletop.tasks.common import ALL_BASES, ALL_DRAGGED, any_in_hollow, is_hollow, scene_pose

if TYPE_CHECKING:
    from uio_agent.envs.tabletop.env import TabletopEnv


class SceneUnderstanding(Task):
    task_name = "scene_understanding"
    group = "instruction_following"

    def __init__(
        self,
        num_dragged_obj: int = 1,
        num_base_obj: int = 1,
        num_distractor_in_scene: int = 1,
        num_distractor_in_workspace: int = 1,
        oracle_max_steps: int | None = None,
        possible_dragged_obj: str | Sequence[str] | None = None,
        possible_base_obj: str | Sequence[str] | None = None,
        possible_dragged_obj_texture: str | Sequence[str] | None = None,
        possible_base_obj_texture: str | Sequence[str] | None = None,
        seed: int | None = None,
    ) -> None:
        if (
            num_dragged_obj < 1
            or num_base_obj < 1
            or min(num_distractor_in_scene, num_distractor_in_workspace) < 0
        ):
            raise ValueError("scene_understanding needs >= 1 dragged and base objects, >= 0 distractors")
        super().__init__(num_dragged_obj + 2 if oracle_max_steps is None else oracle_max_steps, seed)
        self.num_dragged, self.num_base = num_dragged_obj, num_base_obj
        self.num_scene_distractors = num_distractor_in_scene
        self.num_distractors = num_distractor_in_workspace
        self.possible_dragged = resolve_objects(possible_dragged_obj, ALL_DRAGGED)
        self.possible_base = resolve_objects(possible_base_obj, ALL_BASES)
        if len(self.possible_dragged) < num_dragged_obj or len(self.possible_base) < num_base_obj:
            raise ValueError("scene_understanding samples distinct dragged and base objects: lists too short")
        self.possible_dragged_texture = resolve_textures(
            possible_dragged_obj_texture, DEFAULT_DRAGGED_TEXTURES
        )
        self.possible_base_texture = resolve_textures(possible_base_obj_texture, DEFAULT_BASE_TEXTURES)
        if {t.name for t in self.possible_dragged_texture} == {
            t.name for t in self.possible_base_texture
        } and len(self.possible_base_texture) < 2:
            raise ValueError("scene_understanding needs different dragged and base textures")
        self.prompt_template = "Put the {dragged_texture} object in {scene} into the {base_texture} object."
        self.text_dragged = self.possible_dragged_texture[0]  # the episode's dragged texture

    def pool(self) -> dict[PoolKey, int]:
        counts: dict[PoolKey, int] = {}
        extra = self.num_distractors + self.num_scene_distractors
        for spec in self.possible_dragged:
            counts[spec.name] = counts.get(spec.name, 0) + self.num_dragged + extra
        for spec in self.possible_base:
            counts[spec.name] = counts.get(spec.name, 0) + self.num_base + extra
        return counts

    def reset(self, env: TabletopEnv) -> None:
        self.begin()
        rng, world = self.rng, env.world
        base_tex: TextureSpec | None = None
        dragged_tex: TextureSpec | None = None
        while base_tex is None or dragged_tex is None or base_tex.name == dragged_tex.name:
            base_tex = self.choice(self.possible_base_texture)
            dragged_tex = self.choice(self.possible_dragged_texture)
        distractor_texs = self.possible_dragged_texture + self.possible_base_texture
        remaining = [t for t in distractor_texs if t.name != dragged_tex.name]
        self.text_slots = {"dragged_texture": dragged_tex.name, "base_texture": base_tex.name}
        self.text_dragged = dragged_tex

        bases: list[tuple[int, ObjectSpec, np.ndarray, np.ndarray]] = []
        for _ in range(self.REJECT_SAMPLING_MAX_TIMES):
            specs = self.choices(self.possible_base, self.num_base, replace=False)
            for spec in specs:
                size = self.sample_size(spec)
                pose = world.random_pose(size, rng)
                if pose is None:
                    break
                bases.append((world.add_object(spec, base_tex, size, *pose), spec, pose[0], size))
            if len(bases) == self.num_base:
                break
        else:
            raise SamplingError("Error in sampling base object")
        base_specs = [b[1] for b in bases]
        hollows = [(xy, size) for _, spec, xy, size in bases if is_hollow(spec)]

        dragged: list[tuple[int, ObjectSpec, np.ndarray, np.ndarray]] = []
        for _ in range(self.REJECT_SAMPLING_MAX_TIMES):
            specs = self.choices(self.possible_dragged, self.num_dragged, replace=False)
            for spec in specs:
                size = self.sample_size(spec)
                pose = world.random_pose(size, rng)
                if pose is None or (hollows and any_in_hollow([(pose[0], size)], hollows)):
                    break
                dragged.append((world.add_object(spec, dragged_tex, size, *pose), spec, pose[0], size))
            if len(dragged) == self.num_dragged:
                break
        else:
            raise SamplingError("Error in sampling dragged object")

        combos = list(itertools.product(dragged, bases))
        order = rng.permutation(len(combos))
        base_poses = {b[0]: world.pose(b[0]) for b in bases}
        for k in order:
            (obj_id, *_), (base_id, *_) = combos[int(k)]
            pos, yaw = base_poses[base_id]
            self.goals.append(Goal([(obj_id, 0.0)], [(pos, yaw)], rotations=True))
        self._all_goals = list(self.goals)

        dragged_names = {d[1].name for d in dragged}
        dragged_distractors = [o for o in self.possible_dragged if o.name not in dragged_names]
        base_distractors = [o for o in self.possible_base if o.name in {s.name for s in base_specs}]
        dragged_sizes = [(d[2], d[3]) for d in dragged]
        for _ in range(self.num_distractors + 2 * self.REJECT_SAMPLING_MAX_TIMES):
            entries = [
                self.choice(
                    dragged_distractors if rng.random() < 0.5 or not base_distractors else base_distractors
                )
                for _ in range(self.num_distractors)
            ]
            added = 0
            for spec in entries:
                size = self.sample_size(spec)
                pose = world.random_pose(size, rng)
                if pose is None:
                    break
                if spec.name in {s.name for s in base_specs}:
                    if is_hollow(spec) and any_in_hollow(dragged_sizes, [(pose[0], size)]):
                        break
                    tex = self.choice([t for t in distractor_texs if t.name != base_tex.name])
                else:
                    if hollows and any_in_hollow([(pose[0], size)], hollows):
                        break
                    tex = dragged_tex
                self.distractors.append((world.add_object(spec, tex, size, *pose), 0.0))
                added += 1
            if added == self.num_distractors:
                self._scene(env, dragged, remaining)
                return
        raise SamplingError("Error in sampling distractors")

    def _scene(
        self,
        env: TabletopEnv,
        dragged: list[tuple[int, ObjectSpec, np.ndarray, np.ndarray]],
        remaining: list[TextureSpec],
    ) -> None:
        """The scene image, drawn after the workspace as VIMA draws it (when the prompt is made):
        the dragged objects and distractors at fresh random poses on an empty table."""
        rng = self.rng
        placed: list[tuple[np.ndarray, np.ndarray]] = []
        layout = []
        for obj_id, _, _, size in dragged:
            pose = scene_pose(rng, size, placed)
            if pose is None:
                raise SamplingError("Error in sampling the scene")
            layout.append((obj_id, pose[0], pose[1]))
        extra = []
        objs = self.possible_dragged + self.possible_base
        scene_specs = self.choices(objs, self.num_scene_distractors)
        scene_texs = self.choices(remaining, self.num_scene_distractors)
        for spec, tex in zip(scene_specs, scene_texs, strict=True):
            size = self.sample_size(spec)
            pose = scene_pose(rng, size, placed)
            if pose is not None:
                extra.append((spec, tex, size, pose[0], pose[1]))
        self.placeholders["scene"] = Placeholder(
            -1, "scene", self.text_dragged, asset=self.temp_scene_asset(env, layout, extra)
        )

    def update_goals(self, env: TabletopEnv, skip_oracle: bool = True) -> None:
        self.goals = [g for g in self.goals if not self._goal_met(env, g)]

    def check_success(self, env: TabletopEnv) -> Outcome:
        for distractor in self.distractors:
            if not self.distractor_ok(env, distractor):
                return Outcome(False, True, "distractor_at_target")
        # an object with one base goal met needs no other base (VIMA drops its remaining goals)
        counts: dict[int, int] = {}
        for goal in self.goals:
            counts[goal.objects[0][0]] = counts.get(goal.objects[0][0], 0) + 1
        done = {o for o, n in counts.items() if n == self.num_base - 1}
        self.goals = [g for g in self.goals if g.objects[0][0] not in done]
        return super().check_success(env)
