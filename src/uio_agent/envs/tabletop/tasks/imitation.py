"""VIMA's one-shot imitation tasks: ``follow_order`` (re-stack blocks in the order of three frames)
and ``follow_motion`` (move an object through the positions of three frames). Both fail on a step
that achieves no goal (VIMA compares the goal count before and after each step)."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from uio_agent.envs.tabletop.catalog import LIGHT_TEXTURES, ObjectSpec, TextureSpec
from uio_agent.envs.tabletop.scene import BOUNDS, PoolKey
from uio_agent.envs.tabletop.tasks.base import (
    Goal,
    Outcome,
    Placeholder,
    SamplingError,
    Task,
    resolve_objects,
    resolve_textures,
)
from uio_agent.envs.tabletop.tasks.common import ALL_DRAGGED

if TYPE_CHECKING:
    from uio_agent.envs.tabletop.env import TabletopEnv


class _NoProgressFails(Task):
    """A step that removes no goal fails the episode (not the settle check at reset)."""

    def _begin_tracking(self) -> None:
        self._n_before: int | None = None
        self._n_after: int | None = None
        self._at_reset = True

    def update_goals(self, env: TabletopEnv, skip_oracle: bool = True) -> None:
        before = len(self.goals)
        super().update_goals(env, skip_oracle)
        if self._at_reset:
            self._at_reset = False
            return
        self._n_before, self._n_after = before, len(self.goals)

    def check_success(self, env: TabletopEnv) -> Outcome:
        outcome = super().check_success(env)
        stalled = self._n_before is not None and self._n_before == self._n_after
        if stalled and not outcome.success and not outcome.failure:
            return Outcome(False, True, "no_progress")
        return outcome


def stacking_sequences(n_positions: int, n_moves: int) -> list[list[tuple[int, int]]]:
    """VIMA's ``all_stacking_sequence``: every sequence of ``n_moves`` moves between ``n_positions``
    stacks (one block each at first) that never takes from an empty stack, in breadth-first order."""
    moves = [(i, j) for i in range(n_positions) for j in range(n_positions) if i != j]
    out: list[list[tuple[int, int]]] = []
    queue: deque[tuple[tuple[int, ...], list[tuple[int, int]]]] = deque([((1,) * n_positions, [])])
    while queue:
        state, seq = queue.popleft()
        if len(seq) == n_moves:
            out.append(seq)
            continue
        for a, b in moves:
            if state[a] == 0:
                continue
            new = list(state)
            new[a] -= 1
            new[b] += 1
            queue.append((tuple(new), [*seq, (a, b)]))
    return out


class FollowOrder(_NoProgressFails):
    task_name = "follow_order"
    group = "one_shot_imitation"

    def __init__(
        self,
        num_dragged_obj: int = 3,
        num_distractor_in_workspace: int = 1,
        num_frames: int = 3,
        oracle_max_steps: int = 4,
        possible_dragged_obj: str | Sequence[str] | None = None,
        possible_dragged_obj_texture: str | Sequence[str] | None = None,
        seed: int | None = None,
    ) -> None:
        if num_dragged_obj < 2 or num_frames < 2 or num_distractor_in_workspace < 0:
            raise ValueError("follow_order needs >= 2 objects, >= 2 frames, >= 0 distractors")
        super().__init__(oracle_max_steps, seed)
        self.num_dragged = num_dragged_obj
        self.num_distractors = num_distractor_in_workspace
        self.num_frames = num_frames
        self.possible_dragged = resolve_objects(possible_dragged_obj, ALL_DRAGGED)
        if num_distractor_in_workspace and len(self.possible_dragged) < 2:
            raise ValueError("follow_order's distractors differ in shape from the blocks: give two objects")
        self.possible_texture = resolve_textures(possible_dragged_obj_texture, LIGHT_TEXTURES)
        if len(self.possible_texture) < num_dragged_obj:
            raise ValueError("follow_order gives every stacked object its own texture")
        frames = " ".join(f"{{frame_{i}}}" for i in range(num_frames))
        self.prompt_template = f"Stack objects in this order {frames}."
        self.sequences = stacking_sequences(num_dragged_obj, num_frames - 1)
        self._begin_tracking()

    def pool(self) -> dict[PoolKey, int]:
        return {spec.name: self.num_dragged + self.num_distractors for spec in self.possible_dragged}

    def reset(self, env: TabletopEnv) -> None:
        self.begin()
        self._begin_tracking()
        rng, world = self.rng, env.world
        n = self.num_dragged
        sequences = list(self.sequences)
        rng.shuffle(sequences)
        spec = self.choice(self.possible_dragged)
        textures = self.choices(self.possible_texture, n, replace=False)
        moves = sequences[int(rng.choice(len(sequences)))]
        size = self.sample_size(spec)
        interval = (BOUNDS[1, 1] - BOUNDS[1, 0]) / (1 + n)
        if interval <= size[0]:
            raise SamplingError("the workspace cannot hold all the stacks: fewer objects, please")
        x = BOUNDS[0].mean()
        stacks: list[list[int]] = []
        for i in range(n):
            xy = np.array([x, BOUNDS[1, 0] + interval * (i + 1)])
            stacks.append([world.add_object(spec, textures[i], size, xy, 0.0)])
        base_xy = [world.pose(s[0])[0][:2] for s in stacks]
        half = world.rest_height(stacks[0][0])

        def frame(state: list[list[int]]) -> dict[str, Any]:
            layout = [
                (obj_id, np.array([*base_xy[k], half + 2 * half * level]), 0.0)
                for k, stack in enumerate(state)
                for level, obj_id in enumerate(stack)
            ]
            return self.scene_asset(env, layout)

        frames = [frame(stacks)]
        state = [list(s) for s in stacks]
        for a, b in moves:
            obj_id = state[a].pop()
            target = np.array([*base_xy[b], half + 2 * half * len(state[b])])
            state[b].append(obj_id)
            self.goals.append(Goal([(obj_id, 0.0)], [(target, 0.0)], rotations=True))
            frames.append(frame(state))
        self._all_goals = list(self.goals)
        if self.num_distractors:
            candidates = [o for o in self.possible_dragged if o.name != spec.name]
            added = 0
            for _ in range(self.REJECT_SAMPLING_MAX_TIMES + self.num_distractors):
                d_spec = self.choice(candidates)
                d_size = self.sample_size(d_spec)
                d_tex = self.choice(self.possible_texture)
                pose = world.random_pose(d_size, rng)
                if pose is None:
                    continue
                world.add_object(d_spec, d_tex, d_size, *pose)
                added += 1
                if added == self.num_distractors:
                    break
            else:
                raise SamplingError("Error in sampling distractors")
        for i, asset in enumerate(frames[: self.num_frames]):
            self.placeholders[f"frame_{i}"] = Placeholder(-1, "scene", textures[0], asset=asset)

    def is_match(
        self, env: TabletopEnv, obj_id: int, target: tuple[np.ndarray, float], symmetry: float
    ) -> bool:
        return super().is_match(env, obj_id, target, 0.0)  # position only


#: follow_motion's circle of possible positions around the workspace centre.
MOTION_RADIUS, MOTION_POINTS = 0.19, 5


class FollowMotion(_NoProgressFails):
    task_name = "follow_motion"
    group = "one_shot_imitation"

    def __init__(
        self,
        num_dragged_obj: int = 1,
        num_frames: int = 3,
        circle_radius: float = MOTION_RADIUS,
        num_possible_motion_points: int = MOTION_POINTS,
        oracle_max_steps: int = 4,
        possible_dragged_obj: str | Sequence[str] | None = None,
        possible_dragged_obj_texture: str | Sequence[str] | None = None,
        seed: int | None = None,
    ) -> None:
        if num_dragged_obj != 1 or num_frames < 2 or num_possible_motion_points < 2 or circle_radius <= 0:
            raise ValueError("follow_motion moves one object through >= 2 frames on >= 2 points")
        super().__init__(oracle_max_steps, seed)
        self.num_frames = num_frames
        self.points = [
            (
                math.cos(i * 2 * math.pi / num_possible_motion_points) * circle_radius,
                math.sin(i * 2 * math.pi / num_possible_motion_points) * circle_radius,
            )
            for i in range(num_possible_motion_points)
        ]
        self.center = BOUNDS[:2].mean(axis=1)
        self.possible_dragged = resolve_objects(possible_dragged_obj, ALL_DRAGGED)
        self.possible_texture = resolve_textures(possible_dragged_obj_texture, LIGHT_TEXTURES)
        if len(self.possible_dragged) * len(self.possible_texture) < 2:
            raise ValueError("follow_motion's distractors differ from the dragged object: give more choices")
        frames = " ".join(f"{{frame_{i}}}" for i in range(num_frames))
        self.prompt_template = f"Follow this motion for {{dragged_obj}}: {frames}."
        self._begin_tracking()

    def pool(self) -> dict[PoolKey, int]:
        return {spec.name: 3 for spec in self.possible_dragged}

    def _valid(self, archive: tuple[ObjectSpec, TextureSpec], spec: ObjectSpec, tex: TextureSpec) -> bool:
        return not (spec.name == archive[0].name and tex.name == archive[1].name)

    def reset(self, env: TabletopEnv) -> None:
        self.begin()
        self._begin_tracking()
        rng, world = self.rng, env.world
        n_ops = self.num_frames - 1
        self.oracle_max_steps = n_ops  # VIMA changes it on reset (the env's budget stays at 6)
        spec = self.choice(self.possible_dragged)
        tex = self.choice(self.possible_texture)
        k = int(rng.choice(len(self.points)))
        sequence = [k]
        for _ in range(n_ops):
            k = (k - 1) % len(self.points) if rng.random() < 0.5 else (k + 1) % len(self.points)
            sequence.append(k)
        size = self.sample_size(spec)
        positions = [self.center + np.array(self.points[i]) for i in sequence]
        obj_id = world.add_object(spec, tex, size, positions[0], 0.0)
        self.placeholders["dragged_obj"] = Placeholder(obj_id, spec.name, tex)
        for xy in positions[1:]:
            self.goals.append(
                Goal([(obj_id, 0.0)], [(np.array([xy[0], xy[1], size[2]]), 0.0)], rotations=True)
            )
        self._all_goals = list(self.goals)
        for _ in range(self.REJECT_SAMPLING_MAX_TIMES):
            d_spec, d_tex = self.choice(self.possible_dragged), self.choice(self.possible_texture)
            if self._valid((spec, tex), d_spec, d_tex):
                world.add_object(d_spec, d_tex, self.sample_size(d_spec), self.center, 0.0)
                break
        else:
            raise SamplingError("Error in sampling distractor")
        for _ in range(self.REJECT_SAMPLING_MAX_TIMES):
            s_spec, s_tex = self.choice(self.possible_dragged), self.choice(self.possible_texture)
            if self._valid((spec, tex), s_spec, s_tex):
                break
        for i in range(self.num_frames):
            s_size = self.sample_size(s_spec)
            asset = self.temp_scene_asset(
                env, [(obj_id, positions[i], 0.0)], [(s_spec, s_tex, s_size, self.center, 0.0)]
            )
            self.placeholders[f"frame_{i}"] = Placeholder(-1, "scene", tex, asset=asset)

    def is_match(
        self, env: TabletopEnv, obj_id: int, target: tuple[np.ndarray, float], symmetry: float
    ) -> bool:
        return super().is_match(env, obj_id, target, 0.0)  # position only


__all__ = ["FollowMotion", "FollowOrder", "stacking_sequences"]
