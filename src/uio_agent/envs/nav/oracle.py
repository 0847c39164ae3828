"""Shortest-path oracles: habitat-lab's ``ShortestPathFollower`` for PointNav and its ObjectNav twin.

Both steer toward the first corner of the string-pulled geodesic path: they turn while the corner is
more than half a turn away and move forward otherwise. The PointNav follower calls STOP once the
geodesic distance is below the success distance; the ObjectNav follower walks to the nearest
viewpoint of the target type, turns and tilts the camera toward the object, and calls End as soon
as the env reports one visible (and never otherwise). After ``reset(options={"oracle": True})`` the
env puts the next action into ``info["oracle_action"]``, which ``agent.policy.OraclePolicy`` reads.
"""

from __future__ import annotations

import abc
import heapq
import math

import numpy as np

from uio_agent.envs.nav import thor
from uio_agent.envs.nav.embodiment import Embodiment
from uio_agent.envs.nav.frames import wrap_angle, yaw_towards
from uio_agent.envs.nav.geometry import DistanceField
from uio_agent.envs.nav.layout import SceneObject
from uio_agent.envs.nav.motion import MOVE_FORWARD, STOP, TURN_LEFT, TURN_RIGHT, apply_action, thor_move_ahead
from uio_agent.envs.nav.viewpoints import Viewpoints

FORWARD, LEFT, RIGHT = "forward", "left", "right"


class GeodesicSteering(abc.ABC):
    """Greedy discrete steering along a distance field (stateful: one per episode).

    Subclasses say how a forward step moves the agent (:meth:`move`).
    """

    def __init__(self, field: DistanceField, turn_degrees: float, step: float) -> None:
        self.field = field
        self.turn = math.radians(turn_degrees)
        # keep the straight segments a little off the obstacles: a heading within half a turn of the
        # corner drifts sideways by up to step·sin(turn/2) per step
        self.margin = 0.02 + step * math.sin(self.turn / 2)
        self._committed: float | None = None  # heading chosen by the blocked-step search

    @abc.abstractmethod
    def move(self, position: np.ndarray, yaw: float) -> np.ndarray:
        """Where a forward step from ``position`` at ``yaw`` takes the agent."""

    def waypoint(self, position: np.ndarray) -> np.ndarray:
        """First corner of the string-pulled path: the last descent point still in straight sight."""
        path = self.field.descend(position)
        if not path:
            return self.field.goal if self.field.goal is not None else position
        space = self.field.space
        # near a wall the start itself lacks the margin: ask only for what the start has
        margin = min(self.margin, max(0.0, space.clearance(position) - space.radius - 1e-3))
        if space.segment_is_free(position, path[-1], margin):
            return path[-1]
        best = path[min(1, len(path) - 1)]
        for k in range(2, len(path), 2):
            if not space.segment_is_free(position, path[k], margin):
                break
            best = path[k]
        return best

    def _forward(self, position: np.ndarray, yaw: float) -> tuple[float, float]:
        """(displacement, geodesic distance after) of a simulated forward step at ``yaw``."""
        after = self.move(position, yaw)
        return float(np.hypot(*(after - position))), self.field.distance(after)

    @staticmethod
    def _turn_towards(error: float) -> str:
        return LEFT if error > 0 else RIGHT

    def steer(self, position: np.ndarray, yaw: float, distance: float, step: float) -> str:
        """``FORWARD``, ``LEFT`` or ``RIGHT`` to bring the agent along the field's descent."""
        if self._committed is not None:
            error = wrap_angle(self._committed - yaw)
            if abs(error) > 1e-6:
                return self._turn_towards(error)
            self._committed = None
            return FORWARD
        target = self.waypoint(position)
        delta = target - position
        error = wrap_angle(yaw_towards(delta) - yaw) if float(np.hypot(*delta)) > 1e-6 else 0.0
        if abs(error) > self.turn / 2 + 1e-6:
            return self._turn_towards(error)
        moved, after = self._forward(position, yaw)
        if moved >= 0.5 * step and after < distance:
            return FORWARD
        # blocked: among the headings whose forward step makes geodesic progress, take the best one;
        # with none (a dead end for this body), the heading that moves farthest
        n = math.ceil(math.pi / self.turn)
        steps = [(j, *self._forward(position, yaw + j * self.turn)) for j in range(-n, n + 1)]
        progress = [
            (after, abs(j), j) for j, moved, after in steps if after < distance - 1e-3 and moved > 1e-3
        ]
        escape = max((moved, -abs(j), j) for j, moved, _ in steps)
        k = min(progress)[2] if progress else escape[2]
        if k == 0:
            return FORWARD
        self._committed = wrap_angle(yaw + k * self.turn)
        return self._turn_towards(k)


class ShortestPathFollower(GeodesicSteering):
    """habitat-lab's greedy follower of the geodesic to one goal, with habitat's motion."""

    def __init__(self, field: DistanceField, body: Embodiment) -> None:
        super().__init__(field, body.turn_angle, body.forward_step)
        self.body = body

    def move(self, position: np.ndarray, yaw: float) -> np.ndarray:
        after, _, _ = apply_action(self.field.space, self.body, position, yaw, MOVE_FORWARD)
        return after

    def next_action(self, position: np.ndarray, yaw: float) -> int:
        distance = self.field.distance(position)
        if distance < self.body.success_distance:
            return STOP
        move = self.steer(position, yaw, distance, self.body.forward_step)
        return {FORWARD: MOVE_FORWARD, LEFT: TURN_LEFT, RIGHT: TURN_RIGHT}[move]


#: THOR horizons the oracle chooses from (LookUp / LookDown steps within the clamp)
_HORIZONS = np.arange(thor.HORIZON_RANGE[0], thor.HORIZON_RANGE[1] + 1e-9, thor.LOOK_DEGREES)


class ObjectNavFollower(GeodesicSteering):
    """ObjectNav oracle: geodesic to the nearest viewpoint of the target type, then face the nearest
    target object with the horizon that centres it, and End once an object of the type is visible.

    Within ``reach`` of an object it tilts the camera toward it on the way. Greedy steering can stall
    where THOR's all-or-nothing 0.25 m steps cannot thread a gap the 5 cm field passes; after
    :data:`STALL` actions without geodesic progress it plans the exact THOR motion instead (A* over
    poses, :meth:`plan`, weighted when the exact search runs out of budget). Standing in a viewpoint,
    facing the object and still seeing none (furniture in the way), it tries the other horizons, then
    steps toward the object while that keeps it in a viewpoint, then tries viewpoints elsewhere.
    Whatever cannot be reached or seen that way is given up for the viewpoints of the other objects of
    the type. End comes only from the env's own visibility check (``target_visible``): with every
    object given up it takes them all back and searches again, so a failure is the step limit, never
    an End with nothing in view.
    """

    #: actions without geodesic progress before planning
    STALL = 12
    #: poses A* may expand per search
    PLAN_BUDGET = 4000
    #: A* heuristic weights tried in turn: 1 gives the shortest THOR plan; where a narrow gap needs a
    #: precise approach that search can run out of budget, and a weighted one finds a slightly longer
    #: plan expanding a small fraction of the poses
    PLAN_WEIGHTS = (1.0, 1.5, 2.5)
    #: metres of viewpoints left out around a pose whose view is blocked, and how often per object
    DETOUR = 0.5
    RETRIES = 3

    def __init__(
        self,
        viewpoints: Viewpoints,
        object_type: str,
        camera_height: float,
        reach: float = thor.VISIBILITY_DISTANCE,
    ) -> None:
        field = viewpoints.field(object_type)
        if field is None:
            raise ValueError(f"no reachable viewpoint of a {object_type}: the oracle has nowhere to go")
        super().__init__(field, thor.ROTATE_DEGREES, thor.GRID_SIZE)
        self.viewpoints = viewpoints
        self.object_type = object_type
        self.targets = viewpoints.of_type(object_type)
        self.camera_height = camera_height
        self.reach = reach
        self._tried: set[tuple[int, int, int, float]] = set()
        self._plan: list[int] = []
        self._best = math.inf
        self._stalled = 0
        self._excluded = np.zeros(field.space.shape, dtype=bool)
        self._retries: dict[str, int] = {}
        self._wide = False  # search every cell within reach, not only the viewpoints

    def move(self, position: np.ndarray, yaw: float) -> np.ndarray:
        after, _ = thor_move_ahead(self.field.space, position, yaw, thor.GRID_SIZE)
        return after

    def _horizon_for(self, obj: SceneObject, position: np.ndarray) -> float:
        """The THOR horizon (positive down) closest to the direction of the object's centre."""
        cx, cy, cz = obj.center
        flat = max(math.hypot(cx - position[0], cz - position[1]), 1e-6)
        down = math.degrees(math.atan2(self.camera_height - cy, flat))
        return float(_HORIZONS[int(np.argmin(np.abs(_HORIZONS - down)))])

    def plan(self, position: np.ndarray, rotation_y: int) -> list[int] | None:
        """THOR action sequence from the pose into a viewpoint: the shortest one (:meth:`search`), else
        the first the weighted searches of :data:`PLAN_WEIGHTS` find; None when none finds one."""
        for weight in self.PLAN_WEIGHTS:
            actions = self.search(position, rotation_y, weight)
            if actions is not None:
                return actions
        return None

    def search(self, position: np.ndarray, rotation_y: int, weight: float = 1.0) -> list[int] | None:
        """A* over THOR poses (0.25 m per MoveAhead, turns nearly free) from the pose into a viewpoint,
        with ``weight`` times the geodesic as heuristic (1: the shortest sequence); None when none is
        found within :data:`PLAN_BUDGET` poses."""
        turn = round(thor.ROTATE_DEGREES)
        start = (np.asarray(position, dtype=np.float64), rotation_y % 360)
        nodes: list[tuple[np.ndarray, int, int, int]] = [(start[0], start[1], -1, -1)]  # pose, parent, action
        heap = [(weight * self.field.distance(start[0]), 0.0, 0)]
        seen = {(round(start[0][0] * 50), round(start[0][1] * 50), start[1])}
        while heap and len(nodes) < self.PLAN_BUDGET:
            _, cost, index = heapq.heappop(heap)
            pos, rot, _, _ = nodes[index]
            if self.field.distance(pos) == 0.0:
                actions = []
                while nodes[index][2] >= 0:
                    actions.append(nodes[index][3])
                    index = nodes[index][2]
                return actions[::-1]
            successors = [
                (pos, (rot - turn) % 360, thor.ROTATE_LEFT, 0.001),
                (pos, (rot + turn) % 360, thor.ROTATE_RIGHT, 0.001),
            ]
            ahead, moved = thor_move_ahead(self.field.space, pos, thor.yaw_from_thor(rot), thor.GRID_SIZE)
            if moved:
                successors.append((ahead, rot, thor.MOVE_AHEAD, thor.GRID_SIZE))
            for nxt, nrot, action, step_cost in successors:
                key = (round(nxt[0] * 50), round(nxt[1] * 50), nrot)
                if key in seen:
                    continue
                seen.add(key)
                remaining = self.field.distance(nxt)
                if not math.isfinite(remaining):
                    continue
                nodes.append((nxt, nrot, index, action))
                heapq.heappush(
                    heap, (cost + step_cost + weight * remaining, cost + step_cost, len(nodes) - 1)
                )
        return None

    def _heading_for(self, position: np.ndarray) -> SceneObject:
        """The target whose viewpoint the geodesic from ``position`` leads to."""
        path = self.field.descend(position)
        if path:
            row, col = self.field.space.to_cell(path[-1])
            owners = [t for t in self.targets if self.viewpoints.mask(t)[row, col]]
            if owners:
                return min(owners, key=lambda target: target.gap(position))
        return min(self.targets, key=lambda target: target.gap(position))

    def _refield(self) -> bool:
        """Rebuild the field over the remaining targets' viewpoints (after :meth:`_start_over`, every
        navigable cell within ``reach`` of them) less the excluded cells; False when nothing
        reachable is left."""
        if not self.targets:
            return False
        region = self.viewpoints.region(self.targets)
        if self._wide:
            space = self.field.space
            cx, cz = space.cell_centers()
            for obj in self.targets:
                x0, z0, x1, z1 = obj.footprint
                gap = np.hypot(cx - np.clip(cx, x0, x1), cz - np.clip(cz, z0, z1))
                region |= (gap <= self.reach) & space.navigable & (space.labels == space.largest_island)
        region &= ~self._excluded
        if not region.any():
            return False
        self.field = DistanceField.to_region(self.field.space, region)
        self._committed = None
        self._plan = []
        self._best, self._stalled = math.inf, 0
        return True

    def _give_up(self, obj: SceneObject) -> bool:
        """Drop ``obj`` and head for the other targets' viewpoints; False when none is left."""
        self.targets.remove(obj)
        return self._refield()

    def _start_over(self) -> None:
        """Every object of the type was given up: take them all back and search again, now every
        navigable cell within ``reach`` of them (a view the viewpoint rules missed), every pose and
        horizon afresh."""
        self.targets = self.viewpoints.of_type(self.object_type)
        self._wide = True
        self._excluded[:] = False
        self._retries.clear()
        self._tried.clear()
        self._refield()

    def _wander(self, position: np.ndarray, rotation_y: int) -> int:
        """A step that changes the pose when searching from this one found nothing to do."""
        _, moved = thor_move_ahead(self.field.space, position, thor.yaw_from_thor(rotation_y), thor.GRID_SIZE)
        return thor.MOVE_AHEAD if moved else thor.ROTATE_RIGHT

    def _look_elsewhere(self, obj: SceneObject, position: np.ndarray) -> bool:
        """The view of ``obj`` from here is blocked: leave the viewpoints within :data:`DETOUR` of
        ``position`` for others (up to :data:`RETRIES` times per object, then give it up)."""
        self._retries[obj.id] = self._retries.get(obj.id, 0) + 1
        if self._retries[obj.id] > self.RETRIES:
            return self._give_up(obj)
        cx, cz = self.field.space.cell_centers()
        self._excluded |= np.hypot(cx - position[0], cz - position[1]) <= self.DETOUR
        return self._refield() or self._give_up(obj)

    def next_action(self, position: np.ndarray, rotation_y: int, horizon: float, target_visible: bool) -> int:
        """The next action id for the pose (our ``position``, THOR ``rotation_y`` degrees, ``horizon``):
        End exactly when ``target_visible`` (the env's visibility check) says a target-type object is."""
        if target_visible:
            return thor.END
        action = self._next_move(position, rotation_y, horizon)
        if action is None:
            self._start_over()
            action = self._next_move(position, rotation_y, horizon)
        if action is None:  # nothing to do from this pose: move on and search afresh from the next
            self._start_over()
            action = self._wander(position, rotation_y)
        return action

    def _next_move(self, position: np.ndarray, rotation_y: int, horizon: float) -> int | None:
        """A motion or camera action toward a view of a target; None once every object is given up."""
        yaw = thor.yaw_from_thor(rotation_y)
        here = (round(position[0] * 100), round(position[1] * 100), rotation_y % 360)
        distance = self.field.distance(position)
        if distance < self._best - 1e-6:
            self._best, self._stalled = distance, 0
        else:
            self._stalled += 1
        obj = min(self.targets, key=lambda target: target.gap(position))
        if obj.gap(position) <= self.reach + thor.GRID_SIZE:
            wanted = self._horizon_for(obj, position)
            if horizon != wanted and (*here, wanted) not in self._tried:
                return thor.LOOK_DOWN if wanted > horizon else thor.LOOK_UP
        if distance > 0.0:
            if not self._plan and self._stalled >= self.STALL:
                plan = self.plan(position, rotation_y)
                if plan is None:
                    if not self._give_up(self._heading_for(position)):
                        return None
                    return self._next_move(position, rotation_y, horizon)
                self._plan = plan
            if self._plan:
                return self._plan.pop(0)
            move = self.steer(position, yaw, distance, thor.GRID_SIZE)
            return {FORWARD: thor.MOVE_AHEAD, LEFT: thor.ROTATE_LEFT, RIGHT: thor.ROTATE_RIGHT}[move]
        self._plan = []
        # in a viewpoint: face the object, try every horizon, step toward it, else give it up
        cx, _, cz = obj.center
        error = wrap_angle(yaw_towards(np.array([cx, cz]) - position) - yaw)
        if abs(error) > math.radians(thor.ROTATE_DEGREES) / 2 + 1e-6:
            return thor.ROTATE_LEFT if error > 0 else thor.ROTATE_RIGHT
        self._tried.add((*here, horizon))
        untried = [float(h) for h in _HORIZONS if (*here, float(h)) not in self._tried]
        if untried:
            nearest = min(untried, key=lambda h: abs(h - horizon))
            return thor.LOOK_DOWN if nearest > horizon else thor.LOOK_UP
        ahead = self.move(position, yaw)
        key = (round(ahead[0] * 100), round(ahead[1] * 100), rotation_y % 360, horizon)
        if (
            float(np.hypot(*(ahead - position))) > 0.0
            and self.field.distance(ahead) == 0.0
            and key not in self._tried
        ):
            return thor.MOVE_AHEAD
        if not self._look_elsewhere(obj, position):
            return None
        return self._next_move(position, rotation_y, horizon)
