"""``rearrange`` ("Rearrange to this {scene}.") and ``rearrange_then_restore`` ("Rearrange objects to
this setup {scene} and then restore."), VIMA's RearrangeBase: 1-3 objects (p = 0.4, 0.4, 0.2) spawn
at their goal poses, which the scene image shows, and are moved to fresh poses; with one object a
distractor is added, half of the time right on a goal (the oracle then first moves it away: an
oracle-only goal)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from uio_agent.envs.tabletop.catalog import LIGHT_TEXTURES, TEXTURES, ObjectSpec
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
from uio_agent.envs.tabletop.tasks.common import ALL_DRAGGED

if TYPE_CHECKING:
    from uio_agent.envs.tabletop.env import TabletopEnv

_Pose = tuple[np.ndarray, float]


def needs_moving_away(
    xy: np.ndarray, size: np.ndarray, targets: Sequence[_Pose], target_sizes: Sequence[np.ndarray]
) -> bool:
    """VIMA's ``is_distractor_needed_to_move_away``: too close to any goal pose (1 cm margin)."""
    for (pos, _), tsize in zip(targets, target_sizes, strict=True):
        dist = float(np.linalg.norm(np.float32(xy[:2]) - np.float32(pos[:2])))
        if dist <= max((tsize[0] + size[0]) / 2 + 0.01, (tsize[1] + size[1]) / 2 + 0.01):
            return True
    return False


class Rearrange(Task):
    task_name = "rearrange"
    group = "rearrangement"
    template = "Rearrange to this {scene}."

    def __init__(
        self,
        num_dragged_obj: int = 3,
        num_distractors_obj: int = 0,
        distractor_conflict_rate: float = 0.0,
        oracle_max_steps: int = 5,
        possible_dragged_obj: str | Sequence[str] | None = None,
        possible_dragged_obj_texture: str | Sequence[str] | None = None,
        seed: int | None = None,
    ) -> None:
        # VIMA re-samples the counts at every reset (1-3 objects, conflict rate 0.5): the
        # constructor's counts only bound them.
        if not num_dragged_obj >= 1 or num_distractors_obj < 0 or not 0 <= distractor_conflict_rate <= 1:
            raise ValueError("rearrange needs >= 1 dragged object, >= 0 distractors, a rate in [0, 1]")
        super().__init__(oracle_max_steps, seed)
        self.pos_eps = 0.1
        self.possible_dragged = resolve_objects(possible_dragged_obj, ALL_DRAGGED)
        if len(self.possible_dragged) < 2:
            raise ValueError("rearrange needs two dragged objects at least (distractors differ in shape)")
        self.possible_texture = resolve_textures(possible_dragged_obj_texture, LIGHT_TEXTURES)
        self.prompt_template = self.template
        self.dragged: list[tuple[int, float]] = []
        self.dragged_poses: list[_Pose] = []
        self.conflict_distractors: list[tuple[int, float]] = []
        self.conflict_poses: list[_Pose] = []

    def pool(self) -> dict[PoolKey, int]:
        return {spec.name: 3 for spec in self.possible_dragged}

    def reset(self, env: TabletopEnv) -> None:
        self.begin()
        rng, world = self.rng, env.world
        n = int(rng.choice([1, 2, 3], p=[0.4, 0.4, 0.2]))
        num_distractors = 1 if n == 1 else 0
        conflict_rate = 0.5
        textures = self.choices(self.possible_texture, n)
        ids: list[int] = []
        specs: list[ObjectSpec] = []
        sizes: list[np.ndarray] = []
        for _ in range(n + self.REJECT_SAMPLING_MAX_TIMES):
            spec = self.choice(self.possible_dragged)
            size = self.sample_size(spec)
            pose = world.random_pose(size, rng)
            if pose is None:
                continue
            ids.append(world.add_object(spec, textures[len(ids)], size, *pose))
            specs.append(spec)
            sizes.append(size)
            if len(ids) == n:
                break
        else:
            raise SamplingError("Error in sampling dragged object")
        targets = [world.pose(i) for i in ids]
        # The scene shows the goal layout; then each object moves to a fresh pose, last one first.
        scene = self.scene_asset(env, [(i, p[:2], yaw) for i, (p, yaw) in zip(ids, targets, strict=True)])
        moved: list[_Pose] = []
        for obj_id, size in zip(reversed(ids), reversed(sizes), strict=True):
            for _ in range(self.REJECT_SAMPLING_MAX_TIMES):
                pose = world.random_pose(size, rng)
                if pose is not None and not needs_moving_away(pose[0], size, targets, sizes):
                    world.move_object(obj_id, pose[0], pose[1])
                    moved.append(world.pose(obj_id))
                    break
            else:
                raise SamplingError("Error in generating random target poses")
        moved.reverse()
        self.dragged = [(i, 0.0) for i in ids]
        self.dragged_poses = moved
        for obj_id, target in zip(ids, targets, strict=True):
            self.goals.append(Goal([(obj_id, 0.0)], [target], rotations=True))

        self.conflict_distractors, self.conflict_poses = [], []
        candidates = [o for o in self.possible_dragged if o.name not in {s.name for s in specs}]
        d_specs = self.choices(candidates, num_distractors, replace=False)
        d_texs = self.choices([TEXTURES[t] for t in LIGHT_TEXTURES], num_distractors)
        free_targets = list(targets)
        for spec, tex in zip(d_specs, d_texs, strict=True):
            if rng.random() < conflict_rate and free_targets:
                for _ in range(2 * self.REJECT_SAMPLING_MAX_TIMES):
                    size = self.sample_size(spec)
                    k = int(rng.integers(len(free_targets)))
                    conflict = targets[k]
                    away = world.random_pose(size, rng)
                    if away is None or needs_moving_away(away[0], size, targets, sizes):
                        continue
                    obj_id = world.add_object(spec, tex, size, conflict[0][:2], conflict[1])
                    free_targets.pop(k)
                    self.distractors.append((obj_id, 0.0))
                    self.conflict_distractors.append((obj_id, 0.0))
                    self.conflict_poses.append(world.pose(obj_id))
                    away_pose = (np.array([away[0][0], away[0][1], 0.0]), away[1])
                    self.goals.insert(0, Goal([(obj_id, 0.0)], [away_pose], rotations=True, oracle_only=True))
                    break
                else:
                    raise SamplingError("Error in sampling distractor")
            else:
                for _ in range(2 * self.REJECT_SAMPLING_MAX_TIMES):
                    size = self.sample_size(spec)
                    pose = world.random_pose(size, rng)
                    if pose is None or needs_moving_away(pose[0], size, targets, sizes):
                        continue
                    self.distractors.append((world.add_object(spec, tex, size, *pose), 0.0))
                    break
                else:
                    raise SamplingError("Error in sampling distractor")
        self.placeholders["scene"] = Placeholder(-1, "scene", textures[0], asset=scene)
        self._all_goals = list(self.goals)

    def update_goals(self, env: TabletopEnv, skip_oracle: bool = True) -> None:
        """Every goal is checked each step (agent goals only unless in oracle mode)."""
        self.goals = [g for g in self.goals if (skip_oracle and g.oracle_only) or not self._goal_met(env, g)]

    def check_success(self, env: TabletopEnv) -> Outcome:
        if all(g.oracle_only for g in self.goals):
            for distractor in self.distractors:
                if not self.distractor_ok(env, distractor):
                    return Outcome(False, True, "distractor_at_target")
            return Outcome(True, False)
        for goal in self.goals:
            if goal.oracle_only:
                continue
            xy = env.world.pose(goal.objects[0][0])[0][:2].astype(np.float32)
            if not (0.25 <= xy[0] <= 0.75 and -0.5 <= xy[1] <= 0.5):
                return Outcome(False, True, "object_left_workspace")
        return Outcome(False, False)


class RearrangeThenRestore(Rearrange):
    task_name = "rearrange_then_restore"
    group = "require_memory"
    template = "Rearrange objects to this setup {scene} and then restore."

    def __init__(self, oracle_max_steps: int = 8, **kwargs: object) -> None:
        super().__init__(oracle_max_steps=oracle_max_steps, **kwargs)  # type: ignore[arg-type]
        self._n_restore = 0
        self._achieved = 0

    def reset(self, env: TabletopEnv) -> None:
        super().reset(env)
        self._n_restore = len(self.dragged)
        self._achieved = 0
        for idx in self.rng.permutation(len(self.dragged)):
            self.goals.append(Goal([self.dragged[int(idx)]], [self.dragged_poses[int(idx)]], rotations=True))
        for obj, pose in zip(self.conflict_distractors, self.conflict_poses, strict=True):
            self.goals.append(Goal([obj], [pose], rotations=True, oracle_only=True))
        self._all_goals = list(self.goals)

    def update_goals(self, env: TabletopEnv, skip_oracle: bool = True) -> None:
        """The restore goals count only once every rearrange goal was met (VIMA's de-duplication)."""
        if self._achieved >= self._n_restore:
            checked = range(len(self.goals))
        else:
            checked = range(len(self.goals) - self._n_restore - len(self.conflict_distractors))
        popped = []
        for index in checked:
            goal = self.goals[index]
            if skip_oracle and goal.oracle_only:
                continue
            if self._goal_met(env, goal):
                popped.append(index)
                self._achieved += 1
        for index in reversed(popped):
            del self.goals[index]
