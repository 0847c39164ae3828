"""VIMA's memory tasks on a grid: ``manipulate_old_neighbor`` ("First put {dragged_obj} into
{base_obj} then put the object that was previously at its <direction> into the same {base_obj}.")
and ``pick_in_order_then_restore`` ("Put {dragged_obj} into {base_obj_1} then {base_obj_2}. Finally
restore it into its original container."). ``rearrange_then_restore`` is in :mod:`.rearrange`."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from uio_agent.envs.tabletop.catalog import DEFAULT_BASE_TEXTURES, DEFAULT_DRAGGED_TEXTURES
from uio_agent.envs.tabletop.scene import BOUNDS, PoolKey
from uio_agent.envs.tabletop.tasks.base import (
    Goal,
    Outcome,
    Placeholder,
    Task,
    resolve_objects,
    resolve_textures,
)
from uio_agent.envs.tabletop.tasks.common import ALL_BASES, ALL_DRAGGED, AllGoalsTask

if TYPE_CHECKING:
    from uio_agent.envs.tabletop.env import TabletopEnv

NEIGHBOURS = {"north": (-1, 0), "south": (1, 0), "west": (0, -1), "east": (0, 1)}


class ManipulateOldNeighbor(AllGoalsTask):
    task_name = "manipulate_old_neighbor"
    group = "require_memory"

    def __init__(
        self,
        num_dragged_obj: int = 2,
        num_base_obj: int = 1,
        num_null_distractors: int = 1,
        num_array_rows: int = 3,
        num_array_columns: int = 2,
        oracle_max_steps: int = 4,
        possible_dragged_obj: str | Sequence[str] | None = None,
        possible_base_obj: str | Sequence[str] | None = None,
        possible_dragged_obj_texture: str | Sequence[str] | None = None,
        possible_base_obj_texture: str | Sequence[str] | None = None,
        seed: int | None = None,
    ) -> None:
        if num_dragged_obj != 2 or num_base_obj != 1:
            raise ValueError("manipulate_old_neighbor moves one object and its neighbour into one base")
        if not 0 <= num_null_distractors <= num_array_rows * num_array_columns - num_dragged_obj:
            raise ValueError("too many null distractors to sample")
        if num_array_rows < 1 or num_array_columns < 1 or num_array_rows * num_array_columns < 2:
            raise ValueError("the grid needs two cells at least")
        super().__init__(oracle_max_steps, seed)
        self.rows, self.cols, self.num_null = num_array_rows, num_array_columns, num_null_distractors
        self.possible_dragged = resolve_objects(possible_dragged_obj, ALL_DRAGGED)
        self.possible_base = resolve_objects(possible_base_obj, ALL_BASES)
        self.possible_dragged_texture = resolve_textures(
            possible_dragged_obj_texture, DEFAULT_DRAGGED_TEXTURES
        )
        self.possible_base_texture = resolve_textures(possible_base_obj_texture, DEFAULT_BASE_TEXTURES)
        if len(self.possible_dragged) * len(self.possible_dragged_texture) < self.rows * self.cols:
            raise ValueError("not enough (object, texture) combinations for the grid")
        y_step = (BOUNDS[1, 1] - BOUNDS[1, 0]) / (self.cols + 2)  # one more column for the base
        x_step = (BOUNDS[0, 1] - BOUNDS[0, 0]) / (1 + self.rows)
        self.cells = [
            [
                np.array([BOUNDS[0, 0] + (1 + r) * x_step, BOUNDS[1, 0] + (1 + c) * y_step])
                for c in range(self.cols)
            ]
            for r in range(self.rows)
        ]
        self.base_xy = np.array([BOUNDS[0].mean(), BOUNDS[1, 1] - y_step])
        self.neighbor: tuple[int, float] | None = None

    def pool(self) -> dict[PoolKey, int]:
        counts: dict[PoolKey, int] = {s.name: self.rows * self.cols for s in self.possible_dragged}
        for spec in self.possible_base:
            counts[spec.name] = counts.get(spec.name, 0) + 1
        return counts

    def reset(self, env: TabletopEnv) -> None:
        self.begin()
        rng, world = self.rng, env.world
        cells = list(itertools.product(range(self.rows), range(self.cols)))
        dragged_idx = cells[int(rng.choice(len(cells)))]

        def valid(idx: tuple[int, int]) -> bool:
            return 0 <= idx[0] < self.rows and 0 <= idx[1] < self.cols

        while True:
            direction = str(rng.choice(list(NEIGHBOURS)))
            d = NEIGHBOURS[direction]
            neighbor_idx = (dragged_idx[0] + d[0], dragged_idx[1] + d[1])
            if valid(neighbor_idx):
                break
        nulls: list[tuple[int, int]] = []
        for _ in range(self.num_null):
            while True:
                idx = cells[int(rng.choice(len(cells)))]
                if idx not in (dragged_idx, neighbor_idx) and idx not in nulls:
                    nulls.append(idx)
                    break
        self.text_slots["direction"] = direction
        self.prompt_template = (
            "First put {dragged_obj} into {base_obj} then put the object that was previously at its "
            "{direction} into the same {base_obj}."
        )
        combos = list(itertools.product(self.possible_dragged, self.possible_dragged_texture))
        sampled = self.choices(combos, self.rows * self.cols, replace=False)
        dragged = neighbor = None
        for r in range(self.rows):
            for c in range(self.cols):
                spec, tex = sampled[r * self.cols + c]
                size = self.sample_size(spec)
                if (r, c) in nulls:
                    continue
                obj_id = world.add_object(spec, tex, size, self.cells[r][c], 0.0)
                if (r, c) == dragged_idx:
                    dragged = (obj_id, 0.0)
                    self.placeholders["dragged_obj"] = Placeholder(obj_id, spec.name, tex)
                elif (r, c) == neighbor_idx:
                    neighbor = (obj_id, 0.0)
                else:
                    self.distractors.append((obj_id, 0.0))
        base = self.choice(self.possible_base)
        base_tex = self.choice(self.possible_base_texture)
        base_id = world.add_object(base, base_tex, self.sample_size(base), self.base_xy, 0.0)
        self.placeholders["base_obj"] = Placeholder(base_id, base.name, base_tex)
        assert dragged is not None and neighbor is not None
        base_pose = world.pose(base_id)
        self.goals = [
            Goal([dragged], [base_pose], rotations=True),
            Goal([neighbor], [base_pose], rotations=True),
        ]
        self._all_goals = list(self.goals)
        self.neighbor = neighbor

    def check_success(self, env: TabletopEnv) -> Outcome:
        if len(self.goals) == 1 and self.goals[0].objects[0] != self.neighbor:
            return Outcome(False, True, "wrong_order")  # the neighbour went into the base first
        return super().check_success(env)


class PickInOrderThenRestore(Task):
    task_name = "pick_in_order_then_restore"
    group = "require_memory"

    def __init__(
        self,
        num_dragged_obj: int = 1,
        num_distractor_dragged_obj: int = 0,
        num_target_base_obj: int = 2,
        num_array_rows: int = 2,
        num_array_columns: int = 3,
        same_obj: bool = False,
        same_bases: bool = True,
        oracle_max_steps: int = 4,
        possible_dragged_obj: str | Sequence[str] | None = None,
        possible_base_obj: str | Sequence[str] | None = None,
        possible_dragged_obj_texture: str | Sequence[str] | None = None,
        possible_base_obj_texture: str | Sequence[str] | None = None,
        seed: int | None = None,
    ) -> None:
        if num_array_rows != 2:
            raise ValueError(f"The number of rows {num_array_rows} in array is not supported")
        if num_dragged_obj != 1 or num_target_base_obj < 1 or num_distractor_dragged_obj < 0:
            raise ValueError("pick_in_order_then_restore moves one object through >= 1 bases")
        if 1 + num_target_base_obj + num_distractor_dragged_obj > num_array_rows * num_array_columns:
            raise ValueError("the grid is too small for the bases")
        super().__init__(oracle_max_steps, seed)
        self.pos_eps = 0.05
        self.cols, self.num_targets, self.num_nonempty = (
            num_array_columns,
            num_target_base_obj,
            num_distractor_dragged_obj,
        )
        self.same_obj, self.same_bases = same_obj, same_bases
        self.possible_dragged = resolve_objects(
            possible_dragged_obj, [n for n in ALL_DRAGGED if n != "block"]
        )
        self.possible_base = resolve_objects(possible_base_obj, [n for n in ALL_BASES if n != "pan"])
        self.possible_dragged_texture = resolve_textures(
            possible_dragged_obj_texture, DEFAULT_DRAGGED_TEXTURES
        )
        self.possible_base_texture = resolve_textures(possible_base_obj_texture, DEFAULT_BASE_TEXTURES)
        n = 2 * num_array_columns
        if (
            len(self.possible_base_texture) < n
            or len(self.possible_dragged_texture) < 1 + num_distractor_dragged_obj
        ):
            raise ValueError("every base of the grid has its own texture: give more base textures")
        y_step = (BOUNDS[1, 1] - BOUNDS[1, 0]) / (1 + num_array_columns)
        self.cells = [
            np.array([BOUNDS[0, 0] + (BOUNDS[0, 1] - BOUNDS[0, 0]) * fx, BOUNDS[1, 0] + (1 + y) * y_step])
            for fx in (0.25, 0.75)
            for y in range(num_array_columns)
        ]
        bases = " then ".join(f"{{base_obj_{i + 1}}}" for i in range(num_target_base_obj))
        self.prompt_template = (
            f"Put {{dragged_obj}} into {bases}. Finally restore it into its original container."
        )

    def pool(self) -> dict[PoolKey, int]:
        counts: dict[PoolKey, int] = {s.name: 1 + self.num_nonempty for s in self.possible_dragged}
        for spec in self.possible_base:
            counts[spec.name] = 2 * self.cols
        return counts

    def reset(self, env: TabletopEnv) -> None:
        self.begin()
        rng, world = self.rng, env.world
        n = 2 * self.cols
        order = rng.choice(n, size=n, replace=False)
        centers = [self.cells[int(k)] for k in order]
        home, targets = centers[0], centers[1 : self.num_targets + 1]
        nonempty = centers[self.num_targets + 1 : self.num_targets + 1 + self.num_nonempty]
        empty = centers[self.num_targets + 1 + self.num_nonempty :]
        dragged_pool = [self.choice(self.possible_dragged)] if self.same_obj else self.possible_dragged
        objs = self.choices(dragged_pool, 1 + self.num_nonempty)
        obj_texs = self.choices(self.possible_dragged_texture, 1 + self.num_nonempty, replace=False)
        base_pool = [self.choice(self.possible_base)] if self.same_bases else self.possible_base
        bases = self.choices(base_pool, n)
        base_texs = self.choices(self.possible_base_texture, n, replace=False)
        obj_size = self.sample_size(objs[0])
        base_size = self.sample_size(bases[0])
        # the object first (VIMA's id order), then its base; then it is set down on the base
        dragged_id = world.add_object(objs[0], obj_texs[0], obj_size, home, 0.0, z=0.3)
        home_id = world.add_object(bases[0], base_texs[0], base_size, home, 0.0)
        half = world.half_extents(dragged_id)
        support = world.support_height(home, (half[0], half[1]), exclude=dragged_id)
        world.move_object(dragged_id, home, 0.0, z=support + world.rest_height(dragged_id) + 1e-3)
        del home_id
        self.placeholders["dragged_obj"] = Placeholder(dragged_id, objs[0].name, obj_texs[0])
        dragged = (dragged_id, 0.0)
        for i, xy in enumerate(targets):
            base_id = world.add_object(bases[1 + i], base_texs[1 + i], base_size, xy, 0.0)
            self.placeholders[f"base_obj_{i + 1}"] = Placeholder(base_id, bases[1 + i].name, base_texs[1 + i])
            target = np.array([xy[0], xy[1], obj_size[2] / 2])
            self.goals.append(Goal([dragged], [(target, 0.0)], rotations=True))
        self.goals.append(
            Goal([dragged], [(np.array([home[0], home[1], base_size[2] / 2]), 0.0)], rotations=True)
        )
        self._all_goals = list(self.goals)
        k = 1 + self.num_targets
        for j, xy in enumerate(nonempty):
            world.add_object(bases[k + j], base_texs[k + j], base_size, xy, 0.0)
            obj_id = world.add_object(objs[1 + j], obj_texs[1 + j], obj_size, xy, 0.0, z=0.3)
            h = world.half_extents(obj_id)
            z = world.support_height(xy, (h[0], h[1]), exclude=obj_id) + world.rest_height(obj_id) + 1e-3
            world.move_object(obj_id, xy, 0.0, z=z)
            self.distractors.append((obj_id, 0.0))
        k += self.num_nonempty
        for j, xy in enumerate(empty):
            world.add_object(bases[k + j], base_texs[k + j], base_size, xy, 0.0)

    def _met(self, env: TabletopEnv, goal: Goal) -> bool:
        return self._goal_met(env, goal)

    def check_success(self, env: TabletopEnv) -> Outcome:
        at_home = self._met(env, self._all_goals[-1])
        future = self.goals[1:-1] if at_home else self.goals[1:]
        if any(self._met(env, g) for g in future):
            return Outcome(False, True, "wrong_order")  # a later base reached before an earlier one
        return super().check_success(env)

    def is_match(
        self, env: TabletopEnv, obj_id: int, target: tuple[np.ndarray, float], symmetry: float
    ) -> bool:
        return super().is_match(env, obj_id, target, 0.0)  # position only
