"""VIMA's constraint-satisfaction tasks with the spatula: ``sweep_without_exceeding`` ("Sweep <det>
{swept_obj} into {bounds} without exceeding {constraint}.") and ``sweep_without_touching``.

Small blocks are swept into the area of a three-sided rectangle. A goal per block is met when all
of VIMA's sample points of the block (a 2 cm grid over its box, 8 points) lie inside the zone; the
episode succeeds when exactly the asked number of blocks got in, fails with more, when a
distractor block has a point in the zone, or when a swept block touches the constraint line
(checked during the motion, as VIMA's ``check_constraint``).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from uio_agent.envs.tabletop.catalog import DEFAULT_BASE_TEXTURES, DEFAULT_DRAGGED_TEXTURES, OBJECTS
from uio_agent.envs.tabletop.oracle import Oracle
from uio_agent.envs.tabletop.scene import BOUNDS, PoolKey
from uio_agent.envs.tabletop.tasks.base import (
    Goal,
    Outcome,
    Placeholder,
    SamplingError,
    Task,
    resolve_textures,
)

if TYPE_CHECKING:
    from uio_agent.envs.tabletop.env import TabletopEnv
    from uio_agent.envs.tabletop.oracle import PickPoint

DETERMINERS = {"any": 1, "one": 1, "two": 2, "three": 3}
#: Number of blocks to sweep and its probabilities (VIMA's "easy", the only level reachable).
SAMPLE_PROB = {1: 0.5, 2: 0.25, 3: 0.25}
#: Where the swept and the distractor blocks are born (corner of their square, m).
BORN = (
    np.array([BOUNDS[0, 0] + 0.32, BOUNDS[1, 0] + 0.28]),
    np.array([BOUNDS[0, 0] + 0.33, BOUNDS[1, 0] + 0.53]),
)
ZONE_TOP_Z = 0.3  # VIMA's zone_bounds[2, 1]
#: Lateral lanes (m) our sweep_without_exceeding oracle aims blocks at, so they do not pile up.
LANES = (-0.07, 0.0, 0.07)
#: The swept block is drawn 7 times larger in its prompt image (VIMA's global_scaling).
PROMPT_SCALE = 7.0
SMALL = OBJECTS["small block"]
ZONE_OBJ = OBJECTS["three-sided rectangle"]
LINE_OBJ = OBJECTS["line"]


def block_points(size: Sequence[float] | np.ndarray) -> np.ndarray:
    """VIMA's ``get_box_object_points``: a 2 cm grid from -size/2 (3, n) in the block's frame."""
    axes = [np.arange(-s / 2, s / 2, 0.02) for s in size]
    xv, yv, zv = np.meshgrid(*axes, indexing="xy")
    return np.vstack([xv.reshape(1, -1), yv.reshape(1, -1), zv.reshape(1, -1)])


@dataclass
class Zone:
    """A rectangle (centre, yaw, size along its own x/y) as VIMA's ``(zone_pose, zone_size)``."""

    center: np.ndarray
    yaw: float
    size: tuple[float, float]

    def inside(self, world_pts: np.ndarray) -> np.ndarray:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        d = world_pts - self.center[:, None]
        lx, ly = c * d[0] + s * d[1], -s * d[0] + c * d[1]
        return (np.abs(lx) < self.size[0] / 2) & (np.abs(ly) < self.size[1] / 2) & (d[2] < ZONE_TOP_Z)


class SweepBase(Task):
    end_effector = "spatula"
    group = "constraint_satisfaction"
    verb = ""

    def __init__(
        self,
        max_swept_obj: int = 3,
        oracle_max_steps: int = 8,
        possible_dragged_obj_texture: str | Sequence[str] | None = None,
        possible_base_obj_texture: str | Sequence[str] | None = None,
        seed: int | None = None,
    ) -> None:
        if not max_swept_obj >= 1 or oracle_max_steps > 20:
            raise ValueError("sweeps need >= 1 block and at most 20 oracle steps")
        super().__init__(oracle_max_steps, seed)
        self.pos_eps = 0.05
        self.max_swept = max_swept_obj
        self.possible_dragged_texture = resolve_textures(
            possible_dragged_obj_texture, DEFAULT_DRAGGED_TEXTURES
        )
        self.possible_base_texture = resolve_textures(possible_base_obj_texture, DEFAULT_BASE_TEXTURES)
        if len(self.possible_dragged_texture) < 2 or len(self.possible_base_texture) < 2:
            raise ValueError("sweeps need two textures per list (distractors and the line differ)")
        self.prompt_template = (
            f"Sweep {{det}} {{swept_obj}} into {{bounds}} without {self.verb} {{constraint}}."
        )
        self.obj_pts: dict[int, np.ndarray] = {}
        self.distractor_pts: dict[int, np.ndarray] = {}
        self.zone = Zone(np.zeros(3), 0.0, (0.0, 0.0))
        self.line = Zone(np.zeros(3), 0.0, (0.0, 0.0))
        self.line_margin = (0.0, 0.0, 0.0, 0.0)
        self.satisfied = True
        self.target_num = 0
        self.n_achieved = 0

    # ---------------------------------------------------------------- layout, per task

    @abc.abstractmethod
    def base_size(self, size: np.ndarray) -> np.ndarray:
        """The target zone's size for the sampled template size."""

    @abc.abstractmethod
    def layout(self, base_size: np.ndarray, line_size: np.ndarray) -> tuple[float, float, Zone]:
        """(base x, constraint x, target zone) for the sampled sizes."""

    @abc.abstractmethod
    def line_length(self) -> float:
        """Length of the constraint line."""

    distractor_spread = 0.18

    def pool(self) -> dict[PoolKey, int]:
        def size3(values: np.ndarray) -> tuple[float, float, float]:
            return (float(values[0]), float(values[1]), float(values[2]))

        line = np.array(LINE_OBJ.size_range.low) * (self.line_length(), 1.0, 1.0)
        return {
            "small block": 2 * self.max_swept,
            ("small block", size3(np.array(SMALL.size_range.low) * PROMPT_SCALE)): 1,
            ("three-sided rectangle", size3(self.base_size(np.array(ZONE_OBJ.size_range.low)))): 1,
            ("line", size3(line)): 1,
        }

    # ---------------------------------------------------------------- episode

    def reset(self, env: TabletopEnv) -> None:
        self.begin()
        rng, world = self.rng, env.world
        counts = sorted(SAMPLE_PROB)
        n = counts[int(rng.choice(len(counts), p=[SAMPLE_PROB[k] for k in counts]))]
        n = min(n, self.max_swept)
        swept_tex = self.choice(self.possible_dragged_texture)
        base_tex = self.choice(self.possible_base_texture)
        line_tex = self.choice([t for t in self.possible_base_texture if t.name != base_tex.name])
        born = [BORN[int(k)] for k in rng.choice(2, size=2, replace=False)]
        distractor_tex = self.choice([t for t in self.possible_dragged_texture if t.name != swept_tex.name])
        base_size = self.base_size(self.sample_size(ZONE_OBJ))
        line_size = self.sample_size(LINE_OBJ)
        line_size[0] *= self.line_length()
        base_x, line_x, self.zone = self.layout(base_size, line_size)
        yaw = -math.pi / 2
        base_id = world.add_object(ZONE_OBJ, base_tex, base_size, np.array([base_x, 0.0]), yaw)
        self.placeholders["bounds"] = Placeholder(base_id, ZONE_OBJ.name, base_tex)
        line_id = world.add_object(LINE_OBJ, line_tex, line_size, np.array([line_x, 0.0]), yaw)
        self.placeholders["constraint"] = Placeholder(line_id, LINE_OBJ.name, line_tex)
        self.line = Zone(np.array([line_x, 0.0, line_size[2] / 2]), yaw, (line_size[0], line_size[1]))
        size = self.sample_size(SMALL)
        self.obj_pts = {}
        swept = self._spawn(env, n, born[0], 0.18, swept_tex, size, self.obj_pts)
        self.placeholders["swept_obj"] = Placeholder(
            -1,
            SMALL.name,
            swept_tex,
            asset=self.temp_object_asset(env, SMALL, swept_tex, size * PROMPT_SCALE),
        )
        for obj_id in swept:
            self.goals.append(Goal([(obj_id, 0.0)], [(self.zone.center.copy(), yaw)], rotations=False))
        self._all_goals = list(self.goals)
        self.distractor_pts = {}
        self._spawn(
            env, n, born[1], self.distractor_spread, distractor_tex, size, self.distractor_pts, self.zone
        )
        m = float(size[0])
        self.line_margin = self.margin(line_x, line_size, m)
        self.satisfied = True
        dets = [k for k, v in DETERMINERS.items() if v <= n] + ["all"]
        det = str(self.choice(dets))
        self.text_slots["det"] = det
        self.target_num = DETERMINERS.get(det, n)
        self.n_achieved = 0

    @abc.abstractmethod
    def margin(self, line_x: float, line_size: np.ndarray, m: float) -> tuple[float, float, float, float]:
        """The region around the constraint line that counts as touching or crossing it."""

    def _spawn(
        self,
        env: TabletopEnv,
        n: int,
        corner: np.ndarray,
        spread: float,
        tex: Any,
        size: np.ndarray,
        pts: dict[int, np.ndarray],
        avoid: Zone | None = None,
    ) -> list[int]:
        """Blocks at random poses in a square (VIMA draws them independently; ours also re-draw a
        block overlapping an earlier one, and, with ``avoid``, one with a point in that zone)."""
        rng = self.rng
        local = block_points(size)
        for _ in range(self.REJECT_SAMPLING_MAX_TIMES):
            poses: list[tuple[np.ndarray, float]] = []
            for _ in range(n):
                for _ in range(2 * self.REJECT_SAMPLING_MAX_TIMES):
                    xy = corner + rng.random(2) * spread
                    yaw = float(rng.random() * 2 * np.pi)
                    if any(np.linalg.norm(xy - p[0]) < size[0] * math.sqrt(2) for p in poses):
                        continue
                    if avoid is not None:
                        c, s_ = math.cos(yaw), math.sin(yaw)
                        world_pts = np.array([[c, -s_, 0], [s_, c, 0], [0, 0, 1]]) @ local
                        world_pts += np.array([xy[0], xy[1], size[2] / 2])[:, None]
                        if avoid.inside(world_pts).any():
                            continue
                    break
                else:
                    break
                if not (BOUNDS[0, 0] <= xy[0] <= BOUNDS[0, 1] and BOUNDS[1, 0] <= xy[1] <= BOUNDS[1, 1]):
                    break
                poses.append((xy, yaw))
            if len(poses) != n:
                continue
            ids = []
            for xy, yaw in poses:
                obj_id = env.world.add_object(SMALL, tex, size, xy, yaw)
                pts[obj_id] = block_points(size)
                ids.append(obj_id)
            return ids
        raise SamplingError("Error in sampling swept objects")

    # ---------------------------------------------------------------- rules

    def world_points(self, env: TabletopEnv, obj_id: int, pts: np.ndarray) -> np.ndarray:
        slot = env.world.scene.slots[env.world.objects[obj_id].slot]
        rot = env.world.data.xmat[slot.body].reshape(3, 3)
        return rot @ pts + env.world.data.xpos[slot.body][:, None]

    def fraction_in(self, env: TabletopEnv, obj_id: int, pts: np.ndarray, zone: Zone) -> float:
        return float(np.mean(zone.inside(self.world_points(env, obj_id, pts))))

    def all_in_zone(self, env: TabletopEnv, obj_id: int) -> bool:
        return abs(1 - self.fraction_in(env, obj_id, self.obj_pts[obj_id], self.zone)) < 1e-3

    def check_constraint(self, env: TabletopEnv) -> None:
        if not self.satisfied:
            return
        top, bottom, left, right = self.line_margin
        for obj_id, pts in self.obj_pts.items():
            x, y = env.world.data.xpos[env.world.scene.slots[env.world.objects[obj_id].slot].body][:2]
            if x < top or x > bottom or y < left or y > right:
                continue
            if self.fraction_in(env, obj_id, pts, self.line) > 0:
                self.satisfied = False
                return

    def update_goals(self, env: TabletopEnv, skip_oracle: bool = True) -> None:
        before = len(self.goals)
        self.goals = [g for g in self.goals if not self.all_in_zone(env, g.objects[0][0])]
        self.n_achieved += before - len(self.goals)

    def check_success(self, env: TabletopEnv) -> Outcome:
        if not self.satisfied:
            return Outcome(False, True, "constraint_violated")
        for obj_id, pts in self.distractor_pts.items():
            if self.fraction_in(env, obj_id, pts, self.zone) > 0:
                return Outcome(False, True, "distractor_in_zone")
        if self.n_achieved == self.target_num:
            return Outcome(True, False)
        if self.n_achieved > self.target_num:
            return Outcome(False, True, "swept_too_many")
        for goal in self.goals:
            xy = env.world.pose(goal.objects[0][0])[0][:2].astype(np.float32)
            if not (BOUNDS[0, 0] <= xy[0] <= BOUNDS[0, 1] and BOUNDS[1, 0] <= xy[1] <= BOUNDS[1, 1]):
                return Outcome(False, True, "object_left_workspace")
        return Outcome(False, False)

    def push_target(self, env: TabletopEnv, obj_id: int) -> np.ndarray:
        return self.zone.center[:2]

    def path_clear(self, env: TabletopEnv, obj_id: int, others: list[int]) -> bool:
        """Whether pushing ``obj_id`` to its target leaves every other block out of the blade's lane."""
        start = env.world.pose(obj_id)[0][:2]
        end = task_end = self.push_target(env, obj_id)
        vec = task_end - start
        length = float(np.linalg.norm(vec))
        if length < 1e-6:
            return True
        vec = vec / length
        normal = np.array([-vec[1], vec[0]])
        lane = 0.025 + 0.03  # half the blade plus a block's half diagonal, with a margin
        for other in others:
            if other == obj_id:
                continue
            d = env.world.pose(other)[0][:2] - (start - 0.02 * vec)
            along = float(d @ vec)
            if -0.03 < along < length + 0.02 and abs(float(d @ normal)) < lane:
                return False
        del end
        return True

    def oracle(self, env: TabletopEnv, pick_point: PickPoint | None = None) -> Oracle:
        return SweepOracle(env)

    def order(self, env: TabletopEnv, objs: list[int]) -> list[int]:
        """Goal objects in the order the oracle pushes them (not yet inside the zone)."""
        dists = []
        for obj_id in objs:
            pos = env.world.pose(obj_id)[0]
            dists.append(float(np.linalg.norm(np.float32(self.zone.center) - np.float32(pos))))
        ranked = [objs[int(i)] for i in np.argsort(dists)[::-1]]
        return [o for o in ranked if not self.all_in_zone(env, o)]


class SweepOracle(Oracle):
    """VIMA's sweep oracle: push the first goal's block (if visible) from its centre to its target."""

    def __init__(self, env: TabletopEnv) -> None:
        super().__init__(env, "sample")

    def act(self, obs: object = None) -> dict[str, np.ndarray] | None:
        del obs
        task = self.env.task
        assert isinstance(task, SweepBase)
        if not task.goals:
            return None
        mask = self.env.world.oracle_mask()
        # VIMA pushes the first goal's block; ours takes, in goal order, the first block whose push
        # sweeps no other block along (falling back to VIMA's choice), so "one"/"two" stay exact.
        first = [o for o in task.order(self.env, [o for o, _ in task.goals[0].objects]) if (mask == o).any()]
        rest = [
            o for g in task.goals[1:] for o in task.order(self.env, [g.objects[0][0]]) if (mask == o).any()
        ]
        if not first and not rest:
            return None
        others = list(task.obj_pts) + list(task.distractor_pts)
        choice = next((o for o in first + rest if task.path_clear(self.env, o, others)), (first + rest)[0])
        start = self.env.world.pose(choice)[0][:2]
        end = task.push_target(self.env, choice)
        # A block already closer to its target than the blade's stop (5 cm) would not be touched:
        # aim a little past the target so it is nudged in (VIMA's oracle would push thin air).
        gap = end - start
        dist = float(np.linalg.norm(gap))
        reach = self.env.world.push_config.stop_short + 0.03
        if dist < reach:
            direction = gap / dist if dist > 1e-6 else np.array([-1.0, 0.0])
            end = start + direction * reach
        identity = np.array([0, 0, 0, 1], dtype=np.float32)
        return {
            "pose0_position": np.asarray(start, dtype=np.float32),
            "pose0_rotation": identity,
            "pose1_position": np.asarray(end, dtype=np.float32),
            "pose1_rotation": identity.copy(),
        }


class SweepWithoutExceeding(SweepBase):
    task_name = "sweep_without_exceeding"
    verb = "exceeding"
    distractor_spread = 0.09

    def __init__(
        self, constraint_range: Sequence[float] | None = None, oracle_max_steps: int = 8, **kwargs: Any
    ):
        super().__init__(oracle_max_steps=oracle_max_steps, **kwargs)
        rng = (0.25, 0.6) if constraint_range is None else tuple(constraint_range)
        if len(rng) != 2 or not rng[0] <= rng[1]:
            raise ValueError(f"constraint_range must be (low, high), got {constraint_range!r}")
        self.constraint_range = (float(rng[0]), float(rng[1]))

    def base_size(self, size: np.ndarray) -> np.ndarray:
        return np.asarray(size) * 1.35

    def push_target(self, env: TabletopEnv, obj_id: int) -> np.ndarray:
        """The zone centre, moved sideways to a free lane (-7, 0 or +7 cm) nearest the block.

        VIMA aims every block at the centre itself; blocks then pile up at the zone's mouth, where
        the blade, stopping 5 cm short of its target, cannot reach them again."""
        y = float(env.world.pose(obj_id)[0][1])
        lanes = sorted(LANES, key=lambda lane: abs(lane - y))
        half_x = self.zone.size[1] / 2 + 0.03
        for lane in lanes:
            taken = False
            for other in self.obj_pts:
                if other == obj_id:
                    continue
                pos = env.world.pose(other)[0]
                if abs(pos[0] - self.zone.center[0]) < half_x and abs(pos[1] - lane) < 0.035:
                    taken = True
                    break
            if not taken:
                return np.array([self.zone.center[0], lane])
        return np.array([self.zone.center[0], lanes[0]])

    def line_length(self) -> float:
        return 1.35

    def layout(self, base_size: np.ndarray, line_size: np.ndarray) -> tuple[float, float, Zone]:
        base_x = BOUNDS[0, 0] + 0.16
        lo, hi = self.constraint_range
        line_x = float(
            self.rng.uniform(base_x + (lo - 0.5) * base_size[0], base_x + (hi - 0.5) * base_size[0])
        )
        top_x = line_x + line_size[1] / 2
        bottom_x = base_x + base_size[0] / 2
        left_y, right_y = -base_size[1] / 2, base_size[1] / 2
        pos_x = (bottom_x + top_x) / 2 + 0.015
        return (
            base_x,
            line_x,
            Zone(np.array([pos_x, 0.0, 0.0]), -math.pi / 2, (right_y - left_y, bottom_x - top_x)),
        )

    def margin(self, line_x: float, line_size: np.ndarray, m: float) -> tuple[float, float, float, float]:
        top = line_x - line_size[1] / 2
        bottom = line_x + line_size[1] / 2  # VIMA's constraint_bottom_x = the zone's top
        return (top - m, bottom + m, -line_size[0] / 2 - m, line_size[0] / 2 + m)


class SweepWithoutTouching(SweepBase):
    task_name = "sweep_without_touching"
    verb = "touching"

    def __init__(self, constraint_length: float = 0.75, oracle_max_steps: int = 14, **kwargs: Any):
        # VIMA's constructor default is 1, but the env's set_difficulty("easy") makes it 0.75
        super().__init__(oracle_max_steps=oracle_max_steps, **kwargs)
        if constraint_length <= 0:
            raise ValueError("constraint_length must be positive")
        self.constraint_length = float(constraint_length)
        self.phases: dict[str, Any] = {}

    def base_size(self, size: np.ndarray) -> np.ndarray:
        return np.asarray(size) * np.array([0.86, 1.5, 1.0])

    def line_length(self) -> float:
        return self.constraint_length

    def layout(self, base_size: np.ndarray, line_size: np.ndarray) -> tuple[float, float, Zone]:
        base_x = BOUNDS[0, 0] + 0.14
        line_x = base_x + 0.5 * base_size[0] + 0.5 * line_size[1]
        top_x = line_x - line_size[1] / 2
        self.phases = {
            "line_y": 0.0,
            "left": -line_size[0] / 2 - 0.05,
            "right": line_size[0] / 2 + 0.05,
            "x14": line_x,
            "x23": top_x - 0.02,
        }
        return base_x, line_x, Zone(np.array([base_x, 0.0, 0.0]), -math.pi / 2, (base_size[1], base_size[0]))

    def margin(self, line_x: float, line_size: np.ndarray, m: float) -> tuple[float, float, float, float]:
        return (
            line_x - line_size[1] / 2 - m,
            line_x + line_size[1] / 2 + m,
            -line_size[0] / 2 - m,
            line_size[0] / 2 + m,
        )

    def _phase(self, xy: np.ndarray) -> int:
        p = self.phases
        if p["left"] < xy[1] < p["right"]:
            return 1 if xy[0] > p["x14"] else 3
        return 2 if xy[0] > p["x23"] else 3

    def push_target(self, env: TabletopEnv, obj_id: int) -> np.ndarray:
        """VIMA's three phases around the line: sideways past it, along it, then into the zone."""
        p = self.phases
        xy = env.world.pose(obj_id)[0][:2]
        left = xy[1] < p["line_y"]
        side_y = p["left"] - 0.05 if left else p["right"] + 0.05
        phase = self._phase(xy)
        if phase == 1:
            return np.array([(p["x14"] + BOUNDS[0, 1]) / 2, side_y])
        if phase == 2:
            return np.array([self.zone.center[0] - 0.02, side_y])
        return self.zone.center[:2].copy()

    def order(self, env: TabletopEnv, objs: list[int]) -> list[int]:
        p = self.phases
        ranked: list[int] = []
        for phase in (3, 2, 1):
            members = []
            for obj_id in objs:
                xy = env.world.pose(obj_id)[0][:2]
                if self._phase(xy) != phase:
                    continue
                if phase == 1:
                    dist = xy[1] - p["left"] if xy[1] < p["line_y"] else p["right"] - xy[1]
                elif phase == 2:
                    dist = xy[0] - p["x23"]
                else:
                    dist = float(
                        np.linalg.norm(np.float32(self.zone.center) - np.float32(env.world.pose(obj_id)[0]))
                    )
                members.append((float(dist), obj_id))
            ranked += [o for _, o in sorted(members, key=lambda m: -m[0])]
        return [o for o in ranked if not self.all_in_zone(env, o)]
