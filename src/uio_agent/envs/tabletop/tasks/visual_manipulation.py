"""``visual_manipulation``: "Put the {dragged_obj_1} into the {base_obj}." (VIMA's SimpleManipulation)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from uio_agent.envs.tabletop.catalog import DEFAULT_BASE_TEXTURES, DEFAULT_DRAGGED_TEXTURES, ObjectSpec
from uio_agent.envs.tabletop.scene import PoolKey
from uio_agent.envs.tabletop.tasks.base import (
    Goal,
    Placeholder,
    SamplingError,
    Task,
    resolve_objects,
    resolve_textures,
)

if TYPE_CHECKING:
    from uio_agent.envs.tabletop.env import TabletopEnv

DEFAULT_DRAGGED = (
    "block",
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
DEFAULT_BASES = ("pan", "bowl", "frame", "square", "container", "pallet")
#: Bases with a hollow middle: nothing may spawn inside them (VIMA's ``if_in_hollow_object``).
HOLLOW = ("frame", "square")


def in_hollow(
    test_xy: np.ndarray, test_size: np.ndarray, hollow_xy: np.ndarray, hollow_size: np.ndarray
) -> bool:
    """VIMA's rough test of one object lying inside a hollow 2-D object (with a 1 cm margin)."""
    dist = float(np.linalg.norm(np.float32(test_xy) - np.float32(hollow_xy)))
    return dist <= max((test_size[0] + hollow_size[0]) / 2 + 0.01, (test_size[1] + hollow_size[1]) / 2 + 0.01)


class VisualManipulation(Task):
    task_name = "visual_manipulation"
    group = "instruction_following"

    def __init__(
        self,
        num_dragged_obj: int = 1,
        num_base_obj: int = 1,
        num_distractors_obj: int = 1,
        dragged_obj_express_types: Literal["image", "name"] = "image",
        base_obj_express_types: Literal["image", "name"] = "image",
        prepend_color_to_name: bool = True,
        oracle_max_steps: int = 3,
        possible_dragged_obj: str | Sequence[str] | None = None,
        possible_base_obj: str | Sequence[str] | None = None,
        possible_dragged_obj_texture: str | Sequence[str] | None = None,
        possible_base_obj_texture: str | Sequence[str] | None = None,
        use_neutral_color: bool = False,
        exclude_distractor_by_geometry: bool = False,
        seed: int | None = None,
    ) -> None:
        if num_base_obj != 1 or num_dragged_obj < 1 or num_distractors_obj < 0:
            raise ValueError(
                "visual_manipulation supports one base, >= 1 dragged and >= 0 distractor objects"
            )
        super().__init__(oracle_max_steps, seed)
        self.num_dragged = num_dragged_obj
        self.num_distractors = num_distractors_obj
        self.dragged_types = (dragged_obj_express_types,)
        self.base_types = (base_obj_express_types,)
        self.prepend_color = prepend_color_to_name
        self.possible_dragged = resolve_objects(possible_dragged_obj, DEFAULT_DRAGGED)
        self.possible_base = resolve_objects(possible_base_obj, DEFAULT_BASES)
        self.possible_dragged_texture = resolve_textures(
            possible_dragged_obj_texture, DEFAULT_DRAGGED_TEXTURES
        )
        self.possible_base_texture = resolve_textures(possible_base_obj_texture, DEFAULT_BASE_TEXTURES)
        self.use_neutral_color = use_neutral_color
        self.exclude_distractor_by_geometry = exclude_distractor_by_geometry
        dragged = " and ".join("{" + f"dragged_obj_{i}" + "}" for i in range(1, num_dragged_obj + 1))
        self.prompt_template = f"Put the {dragged} into the {{base_obj}}."

    def pool(self) -> dict[PoolKey, int]:
        counts: dict[PoolKey, int] = {}
        for spec in self.possible_dragged:
            counts[spec.name] = counts.get(spec.name, 0) + self.num_dragged + self.num_distractors
        for spec in self.possible_base:
            counts[spec.name] = counts.get(spec.name, 0) + 1 + self.num_distractors
        return counts

    def reset(self, env: TabletopEnv) -> None:
        self.begin()
        rng, world = self.rng, env.world
        base_texture = self.possible_base_texture[rng.choice(len(self.possible_base_texture))]
        dragged_textures = [
            self.possible_dragged_texture[i]
            for i in rng.choice(len(self.possible_dragged_texture), self.num_dragged)
        ]
        base_spec: ObjectSpec | None = None
        for _ in range(self.REJECT_SAMPLING_MAX_TIMES):
            spec = self.possible_base[rng.choice(len(self.possible_base))]
            base_size = self.sample_size(spec)
            pose = world.random_pose(base_size, rng)
            if pose is None:
                continue
            base_id = world.add_object(spec, base_texture, base_size, *pose)
            base_spec, base_xy = spec, pose[0]
            self.placeholders["base_obj"] = Placeholder(
                base_id, spec.name, base_texture, self.use_neutral_color, self.base_types, self.prepend_color
            )
            break
        if base_spec is None:
            raise SamplingError("Error in sampling base object")
        base_pos, base_yaw = world.pose(base_id)
        dragged: list[int] = []
        dragged_specs: list[ObjectSpec] = []
        dragged_poses: list[np.ndarray] = []
        dragged_sizes: list[np.ndarray] = []
        for _ in range(self.REJECT_SAMPLING_MAX_TIMES):
            spec = self.possible_dragged[rng.choice(len(self.possible_dragged))]
            size = self.sample_size(spec)
            pose = world.random_pose(size, rng)
            if pose is None:
                continue
            if base_spec.name in HOLLOW and in_hollow(pose[0], size, base_xy, base_size):
                continue
            texture = dragged_textures[len(dragged)]
            obj_id = world.add_object(spec, texture, size, *pose)
            dragged.append(obj_id)
            dragged_specs.append(spec)
            dragged_poses.append(pose[0])
            dragged_sizes.append(size)
            self.placeholders[f"dragged_obj_{len(dragged)}"] = Placeholder(
                obj_id, spec.name, texture, self.use_neutral_color, self.dragged_types, self.prepend_color
            )
            if len(dragged) == self.num_dragged:
                break
        else:
            raise SamplingError("Error in sampling dragged object")
        for obj_id in dragged:
            self.goals.append(Goal([(obj_id, 0.0)], [(base_pos, base_yaw)], rotations=True))
        self._all_goals = list(self.goals)
        if self.num_distractors:
            self._add_distractors(
                env,
                (base_spec.name, base_texture.name, base_xy, base_size),
                (
                    {s.name for s in dragged_specs},
                    {t.name for t in dragged_textures},
                    dragged_poses,
                    dragged_sizes,
                ),
            )

    def _add_distractors(
        self,
        env: TabletopEnv,
        base: tuple[str, str, np.ndarray, np.ndarray],
        dragged: tuple[set[str], set[str], list[np.ndarray], list[np.ndarray]],
    ) -> None:
        """VIMA's distractors: any (object, texture) combination except the base's and the dragged ones."""
        rng, world = self.rng, env.world
        base_name, base_texture, base_xy, base_size = base
        dragged_names, dragged_texture_names, dragged_xy, dragged_sizes = dragged
        combos = []
        for obj, tex in itertools.product(
            self.possible_dragged + self.possible_base,
            self.possible_dragged_texture + self.possible_base_texture,
        ):
            same_base = obj.name == base_name and (
                tex.name == base_texture or self.exclude_distractor_by_geometry
            )
            same_dragged = obj.name in dragged_names and (
                tex.name in dragged_texture_names or self.exclude_distractor_by_geometry
            )
            if not (same_base or same_dragged):
                combos.append((obj, tex))
        for _ in range(self.num_distractors + self.REJECT_SAMPLING_MAX_TIMES):
            obj, tex = combos[rng.choice(len(combos))]
            size = self.sample_size(obj)
            pose = world.random_pose(size, rng)
            if pose is None:
                continue
            if obj.name in HOLLOW and any(
                in_hollow(xy, dsize, pose[0], size)
                for xy, dsize in zip(dragged_xy, dragged_sizes, strict=True)
            ):
                continue
            if not obj.fixed and base_name in HOLLOW and in_hollow(pose[0], size, base_xy, base_size):
                continue
            obj_id = world.add_object(obj, tex, size, *pose)
            self.distractors.append((obj_id, 0.0))
            if len(self.distractors) == self.num_distractors:
                return
        raise SamplingError("Error in sampling distractors")
