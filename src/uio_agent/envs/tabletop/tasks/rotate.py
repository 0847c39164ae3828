"""``rotate``: "Rotate the {dragged_obj} <angle> degrees." (VIMA's Rotate, clockwise, 30°..150°)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from uio_agent.envs.tabletop.catalog import ASYMMETRIC_OBJECTS, LIGHT_TEXTURES
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


class Rotate(Task):
    task_name = "rotate"
    group = "instruction_following"

    def __init__(
        self,
        num_dragged_obj: int = 1,
        num_distractors_obj: int = 1,
        dragged_obj_express_types: Literal["image", "name"] = "image",
        prepend_color_to_name: bool = True,
        oracle_max_steps: int = 3,
        possible_angles_of_rotation: float | Sequence[float] | None = None,
        possible_dragged_obj: str | Sequence[str] | None = None,
        possible_dragged_obj_texture: str | Sequence[str] | None = None,
        seed: int | None = None,
    ) -> None:
        if num_dragged_obj != 1 or num_distractors_obj < 0:
            raise ValueError("rotate supports one dragged object and >= 0 distractors (VIMA's settings)")
        super().__init__(oracle_max_steps, seed)
        if possible_angles_of_rotation is None:
            self.angles = [math.pi / 6 * i for i in range(1, 6)]
        elif isinstance(possible_angles_of_rotation, int | float):
            self.angles = [float(possible_angles_of_rotation)]
        else:
            self.angles = [float(a) for a in possible_angles_of_rotation]
        if not all(self.rot_eps < abs(a) for a in self.angles):
            raise ValueError(f"angle(s) of rotation {self.angles} are within the 15° tolerance")
        self.num_distractors = num_distractors_obj
        self.types = (dragged_obj_express_types,)
        self.prepend_color = prepend_color_to_name
        self.possible_dragged = resolve_objects(possible_dragged_obj, ASYMMETRIC_OBJECTS)
        self.possible_texture = resolve_textures(possible_dragged_obj_texture, LIGHT_TEXTURES)
        if len(self.possible_texture) < 2 and num_distractors_obj:
            raise ValueError(
                "rotate needs two textures at least: distractors never share the dragged texture"
            )

    def pool(self) -> dict[PoolKey, int]:
        return {spec.name: 1 + self.num_distractors for spec in self.possible_dragged}

    def reset(self, env: TabletopEnv) -> None:
        self.begin()
        rng, world = self.rng, env.world
        angle = float(self.angles[rng.choice(len(self.angles))])
        texture = self.possible_texture[rng.choice(len(self.possible_texture))]
        self.prompt_template = f"Rotate the {{dragged_obj}} {round(math.degrees(angle))} degrees."
        dragged = None
        for _ in range(1 + self.REJECT_SAMPLING_MAX_TIMES):
            spec = self.possible_dragged[rng.choice(len(self.possible_dragged))]
            size = self.sample_size(spec)
            pose = world.random_pose(size, rng)
            if pose is None:
                continue
            obj_id = world.add_object(spec, texture, size, *pose)
            dragged = (spec, obj_id)
            self.placeholders["dragged_obj"] = Placeholder(
                obj_id, spec.name, texture, types=self.types, prepend_color=self.prepend_color
            )
            break
        if dragged is None:
            raise SamplingError("Error in adding object to env.")
        spec, obj_id = dragged
        pos, yaw = world.pose(obj_id)
        symmetry = spec.symmetry if spec.symmetry is not None else 0.0
        self.goals.append(Goal([(obj_id, symmetry)], [(pos, yaw - angle)], rotations=True))  # clockwise
        self._all_goals = list(self.goals)
        for _ in range(self.num_distractors + self.REJECT_SAMPLING_MAX_TIMES):
            if len(self.distractors) == self.num_distractors:
                break
            d_spec = self.possible_dragged[rng.choice(len(self.possible_dragged))]
            d_texture = self.possible_texture[rng.choice(len(self.possible_texture))]
            while d_texture.name == texture.name:
                d_texture = self.possible_texture[rng.choice(len(self.possible_texture))]
            d_size = self.sample_size(d_spec)
            d_pose = world.random_pose(d_size, rng)
            if d_pose is None:
                continue
            self.distractors.append((world.add_object(d_spec, d_texture, d_size, *d_pose), 0.0))
        if len(self.distractors) != self.num_distractors:
            raise SamplingError("Error in adding object to env.")

    def update_goals(self, env: TabletopEnv, skip_oracle: bool = True) -> None:
        """Rotate checks every goal at every step (VIMA's RotateTheObjBase)."""
        self.goals = [g for g in self.goals if not self._goal_met(env, g)]
