"""VIMA's reasoning tasks: ``same_texture`` ("Put all objects with the same texture as {base_obj}
into it.") and ``same_shape`` (same profile). Goals are met within 0.125 m (0.0875 m for a bowl)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from uio_agent.envs.tabletop.catalog import (
    DEFAULT_BASE_TEXTURES,
    DEFAULT_DRAGGED_TEXTURES,
    ObjectSpec,
    TextureSpec,
)
from uio_agent.envs.tabletop.scene import PoolKey
from uio_agent.envs.tabletop.tasks.base import (
    Goal,
    Placeholder,
    SamplingError,
    resolve_objects,
    resolve_textures,
)
from uio_agent.envs.tabletop.tasks.common import AllGoalsTask, any_in_hollow

if TYPE_CHECKING:
    from uio_agent.envs.tabletop.env import TabletopEnv

DEFAULT_DRAGGED = (
    "shorter block",
    "L-shaped block",
    "letter A",
    "letter E",
    "letter G",
    "letter M",
    "letter R",
    "letter T",
    "letter V",
    "cross",
    "diamond",
    "triangle",
    "flower",
    "heart",
    "hexagon",
    "pentagon",
    "ring",
    "round",
    "star",
)
DEFAULT_BASES = ("pan", "bowl", "container", "frame", "pallet", "square")
POS_EPS, POS_EPS_BOWL = 0.125, 1.75 * 0.05


class SameTexture(AllGoalsTask):
    task_name = "same_texture"
    group = "require_reasoning"
    template = "Put all objects with the same texture as {base_obj} into it."

    def __init__(
        self,
        num_dragged_obj: int = 2,
        num_base_obj: int = 1,
        num_distractors_obj: int = 1,
        oracle_max_steps: int = 4,
        possible_dragged_obj: str | Sequence[str] | None = None,
        possible_base_obj: str | Sequence[str] | None = None,
        possible_dragged_obj_texture: str | Sequence[str] | None = None,
        possible_base_obj_texture: str | Sequence[str] | None = None,
        seed: int | None = None,
    ) -> None:
        if num_dragged_obj < 1 or num_base_obj != 1 or num_distractors_obj < 0:
            raise ValueError(f"{self.task_name} supports one base, >= 1 dragged and >= 0 distractor objects")
        super().__init__(oracle_max_steps, seed)
        self.pos_eps = POS_EPS
        self.num_dragged, self.num_distractors = num_dragged_obj, num_distractors_obj
        self.possible_dragged = resolve_objects(possible_dragged_obj, DEFAULT_DRAGGED)
        self.possible_base = resolve_objects(possible_base_obj, DEFAULT_BASES)
        self.possible_dragged_texture = resolve_textures(
            possible_dragged_obj_texture, DEFAULT_DRAGGED_TEXTURES
        )
        self.possible_base_texture = resolve_textures(possible_base_obj_texture, DEFAULT_BASE_TEXTURES)
        self.prompt_template = self.template

    def pool(self) -> dict[PoolKey, int]:
        counts: dict[PoolKey, int] = {
            s.name: self.num_dragged + self.num_distractors for s in self.possible_dragged
        }
        for spec in self.possible_base:
            counts[spec.name] = counts.get(spec.name, 0) + 1
        return counts

    def sampling(
        self, base: ObjectSpec, base_tex: TextureSpec
    ) -> tuple[list[TextureSpec], list[ObjectSpec], list[ObjectSpec]]:
        """(dragged textures, dragged objects, distractor objects) for this base."""
        return [base_tex], list(self.possible_dragged), list(self.possible_dragged)

    def reset(self, env: TabletopEnv) -> None:
        self.begin()
        rng, world = self.rng, env.world
        self.pos_eps = POS_EPS  # VIMA keeps the bowl's tolerance for later episodes; ours is per episode
        base_tex = self.choice(self.possible_base_texture)
        for _ in range(self.REJECT_SAMPLING_MAX_TIMES):
            base = self.choice(self.possible_base)
            if base.name == "bowl":
                self.pos_eps = POS_EPS_BOWL
            base_size = self.sample_size(base)
            pose = world.random_pose(base_size, rng)
            if pose is None:
                continue
            base_id = world.add_object(base, base_tex, base_size, *pose)
            base_xy = pose[0]
            self.placeholders["base_obj"] = Placeholder(base_id, base.name, base_tex)
            break
        else:
            raise SamplingError("Error in sampling base object")
        base_pose = world.pose(base_id)
        dragged_texs, dragged_objs, distractor_objs = self.sampling(base, base_tex)
        used: list[str] = []
        added = 0
        for _ in range(2 * self.REJECT_SAMPLING_MAX_TIMES):
            is_dragged = added < self.num_dragged
            spec = self.choice(dragged_objs if is_dragged else distractor_objs)
            size = self.sample_size(spec)
            pose = world.random_pose(size, rng)
            if pose is None or any_in_hollow([(pose[0], size)], [(base_xy, base_size)]):
                continue
            if is_dragged:
                tex = self.choice(dragged_texs)
                obj_id = world.add_object(spec, tex, size, *pose)
                self.goals.append(Goal([(obj_id, 0.0)], [base_pose], rotations=True))
                used.append(tex.name)
            else:
                tex = self.choice([t for t in self.possible_dragged_texture if t.name not in used])
                self.distractors.append((world.add_object(spec, tex, size, *pose), 0.0))
            added += 1
            if added == self.num_dragged + self.num_distractors:
                break
        else:
            raise SamplingError(f"Error in sampling objects of {self.task_name}")
        self._all_goals = list(self.goals)


class SameShape(SameTexture):
    task_name = "same_shape"
    template = "Put all objects with the same profile as {base_obj} into it."

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        profiles = {s.profile for s in self.possible_dragged}
        square = {s.profile for s in self.possible_dragged if s.profile == 0}
        if not square or profiles == square:
            raise ValueError("possible dragged objects must include square-like and other profiles")

    def sampling(
        self, base: ObjectSpec, base_tex: TextureSpec
    ) -> tuple[list[TextureSpec], list[ObjectSpec], list[ObjectSpec]]:
        same = [o for o in self.possible_dragged if o.profile == base.profile]
        other = [o for o in self.possible_dragged if o.profile != base.profile]
        if not same:
            raise ValueError(f"no dragged object shares the profile of {base.name!r}")
        return list(self.possible_dragged_texture), same, other
