"""The AI2-THOR ObjectNav adapter against a fake ``ai2thor.controller.Controller`` (THOR's Event and
metadata shapes; no ai2thor import): settings, the ObjectNav interface, success, SPL, blocked moves,
geodesic retries, names and the errors that say what to install or fix."""

from __future__ import annotations

import math
import sys
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from uio_agent.agent.build import build_policy
from uio_agent.agent.evaluate import summarize
from uio_agent.agent.rollout import run_episodes
from uio_agent.envs import make_env
from uio_agent.envs.adapters import thor as adapter
from uio_agent.envs.adapters.thor import (
    ThorConfig,
    ThorEpisodeError,
    ThorObjectNavEnv,
    ThorStartError,
    ThorUnavailableError,
)

#: ObjectNavEnv's info keys every step (the contract of the embedded env)
CONTRACT_INFO = {
    "agent",
    "lastActionSuccess",
    "visible_objects",
    "object_type",
    "success",
    "spl",
    "distance_to_target",
    "path_length",
    "episode_length",
}
HOUSE = {
    "rooms": [],
    "objects": [],
    "metadata": {
        "agent": {
            "position": {"x": 0.0, "y": 0.95, "z": 0.0},
            "rotation": {"x": 0, "y": 90, "z": 0},
            "standing": True,
            "horizon": 30,
        }
    },
}
SMALL = {"width": 32, "height": 24}


class FakeEvent:
    """``ai2thor.server.Event``: ``metadata``, ``frame`` (H, W, 3) uint8, ``depth_frame`` (H, W) float32."""

    def __init__(self, metadata: dict[str, Any], frame: np.ndarray, depth_frame: np.ndarray) -> None:
        self.metadata, self.frame, self.depth_frame = metadata, frame, depth_frame

    def __bool__(self) -> bool:
        return bool(self.metadata["lastActionSuccess"])


class FakeController:
    """``Controller(scene=..., **init)``, ``reset``, ``step(action=..., **args)``, ``stop``, ``last_event``
    on a straight corridor, Unity frame: the agent stands on x = 0, 0 <= z <= 2 (reachable every 0.25 m).

    An Apple lies at z = 2.75 (visible from z >= 1.75 facing +z), a Chair at z = -0.75 (visible from
    z <= 0.25 facing -z), a BaseballBat that no path reaches. ``GetShortestPath`` fails below
    allowedError 0.1 (to exercise the retries) and returns the corners [start, 0.75 m before the object].
    Visibility: within ``visibilityDistance`` (x-z) and 45 degrees of the heading, as THOR's metadata says.
    """

    instances: ClassVar[list[FakeController]] = []
    OBJECTS: ClassVar[list[tuple[str, str, tuple[float, float, float]]]] = [
        ("Apple|+00.00|+00.90|+02.75", "Apple", (0.0, 0.9, 2.75)),
        ("Chair|+00.00|+00.50|-00.75", "Chair", (0.0, 0.5, -0.75)),
        ("BaseballBat|+03.00|+00.10|+03.00", "BaseballBat", (3.0, 0.1, 3.0)),
    ]

    def __init__(self, scene: Any = None, **init: Any) -> None:
        self.init = init
        self.scenes = [scene]
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.stopped = False
        self.x, self.z, self.yaw, self.horizon = 0.0, 0.0, 0.0, 0.0
        self.last_event = self._event(True)
        FakeController.instances.append(self)

    def reset(self, scene: Any = None, **init: Any) -> FakeEvent:
        self.scenes.append(scene)
        self.last_event = self._event(True)
        return self.last_event

    def stop(self) -> None:
        self.stopped = True

    def step(self, action: str | None = None, **args: Any) -> FakeEvent:
        self.calls.append((str(action), args))
        ok, result = getattr(self, f"_{action}")(**args)
        self.last_event = self._event(ok, result)
        return self.last_event

    # -- actions
    def _GetReachablePositions(self) -> tuple[bool, Any]:
        return True, [{"x": 0.0, "y": 0.9, "z": 0.25 * k} for k in range(9)]

    def _TeleportFull(self, position: dict, rotation: dict, horizon: float, standing: bool = True) -> tuple:
        if not self._inside(position["x"], position["z"]):
            return False, None
        self.x, self.z = float(position["x"]), float(position["z"])
        self.yaw, self.horizon = float(rotation["y"]) % 360, float(horizon)
        return True, None

    def _MoveAhead(self) -> tuple[bool, Any]:
        x = self.x + self.init["gridSize"] * math.sin(math.radians(self.yaw))
        z = self.z + self.init["gridSize"] * math.cos(math.radians(self.yaw))
        if not self._inside(x, z):
            return False, None
        self.x, self.z = round(x, 6), round(z, 6)
        return True, None

    def _RotateLeft(self) -> tuple[bool, Any]:
        self.yaw = (self.yaw - self.init["rotateStepDegrees"]) % 360
        return True, None

    def _RotateRight(self) -> tuple[bool, Any]:
        self.yaw = (self.yaw + self.init["rotateStepDegrees"]) % 360
        return True, None

    def _look(self, delta: float) -> tuple[bool, Any]:
        if not -30 <= self.horizon + delta <= 60:
            return False, None
        self.horizon += delta
        return True, None

    def _LookUp(self) -> tuple[bool, Any]:
        return self._look(-30.0)

    def _LookDown(self) -> tuple[bool, Any]:
        return self._look(30.0)

    def _GetShortestPath(self, objectId: str, position: dict, allowedError: float) -> tuple[bool, Any]:
        target = next(p for oid, _, p in self.OBJECTS if oid == objectId)
        if allowedError < 0.1 or objectId.startswith("BaseballBat"):
            return False, None
        end_z = target[2] - 0.75 * math.copysign(1.0, target[2] - position["z"])
        corners = [
            {"x": 0.0, "y": 0.9, "z": float(position["z"])},
            {"x": 0.0, "y": 0.9, "z": end_z},
        ]
        return True, {"corners": corners}

    # -- state
    @staticmethod
    def _inside(x: float, z: float) -> bool:
        return abs(x) < 1e-6 and -1e-6 <= z <= 2.0 + 1e-6

    def _event(self, ok: bool, result: Any = None) -> FakeEvent:
        objects = []
        for object_id, object_type, (ox, oy, oz) in self.OBJECTS:
            distance = math.hypot(ox - self.x, oz - self.z)
            bearing = math.degrees(math.atan2(ox - self.x, oz - self.z))
            off = abs((bearing - self.yaw + 180.0) % 360.0 - 180.0)
            objects.append(
                {
                    "objectId": object_id,
                    "objectType": object_type,
                    "visible": distance <= self.init.get("visibilityDistance", 1.5) + 1e-9 and off <= 45.0,
                    "distance": math.dist((ox, oy, oz), (self.x, 0.9, self.z)),
                    "position": {"x": ox, "y": oy, "z": oz},
                }
            )
        h, w = self.init.get("height", 300), self.init.get("width", 300)
        shade = int(self.z * 40 + self.yaw / 3 + self.horizon) % 256
        metadata = {
            "agent": {
                "position": {"x": self.x, "y": 0.9, "z": self.z},
                "rotation": {"x": 0.0, "y": self.yaw, "z": 0.0},
                "cameraHorizon": self.horizon,
                "isStanding": True,
            },
            "lastActionSuccess": ok,
            "errorMessage": "" if ok else "blocked",
            "actionReturn": result,
            "objects": objects,
            "sceneName": "Procedural",
        }
        frame = np.full((h, w, 3), shade, np.uint8)
        return FakeEvent(metadata, frame, np.full((h, w), 1.5, np.float32))


@pytest.fixture(autouse=True)
def _fresh_instances() -> None:
    FakeController.instances.clear()


def thor_env(**kwargs: Any) -> ThorObjectNavEnv:
    options = {"houses": [HOUSE], "controller_class": FakeController, **SMALL, **kwargs}
    return make_env("thor/houses", **options)


def step_name(env: ThorObjectNavEnv, name: str) -> tuple:
    return env.step(adapter.ACTION_NAMES.index(name))


def episode_from(env: ThorObjectNavEnv, predicate) -> dict:
    """The reset info of the first seed whose Apple episode starts where ``predicate(z, yaw)`` holds."""
    for seed in range(200):
        _, info = env.reset(seed=seed, options={"object_type": "Apple"})
        agent = info["agent"]
        if predicate(agent["position"]["z"], agent["rotation"]["y"]):
            return info
    raise AssertionError("no seed gives such a start")


def face(env: ThorObjectNavEnv, info: dict, yaw: float) -> dict:
    """RotateRight until THOR's rotation.y is ``yaw``."""
    while abs((info["agent"]["rotation"]["y"] - yaw) % 360) > 1e-6:
        info = step_name(env, "RotateRight")[4]
    return info


def test_controller_gets_procthor_objectnav_settings() -> None:
    env = thor_env(width=400, height=300)
    env.reset(seed=0)
    (controller,) = FakeController.instances
    assert controller.scenes == [HOUSE]
    expected = {
        "agentMode": "default",
        "gridSize": 0.25,
        "snapToGrid": False,
        "rotateStepDegrees": 30.0,
        "visibilityDistance": 1.0,
        "fieldOfView": 65.0,
        "width": 400,
        "height": 300,
        "renderDepthImage": True,
    }
    assert expected.items() <= controller.init.items()
    # the house's own pose first (ProcTHOR's generator), then the reachable positions, then a start
    names = [name for name, _ in controller.calls]
    assert names[:3] == ["TeleportFull", "GetReachablePositions", "TeleportFull"]
    start = controller.calls[2][1]
    assert start["horizon"] == 30.0 and start["standing"] is True and start["rotation"]["y"] % 30 == 0
    env.close()
    assert controller.stopped
    locobot = thor_env(agent="locobot", controller_kwargs={"x_display": ":1"})
    locobot.reset(seed=0)
    init, calls = FakeController.instances[-1].init, FakeController.instances[-1].calls
    assert init["agentMode"] == "locobot" and init["fieldOfView"] == 63.45 and init["x_display"] == ":1"
    assert all("standing" not in args for name, args in calls if name == "TeleportFull")


def test_interface_matches_the_objectnav_contract() -> None:
    env = thor_env()
    spaces = env.observation_space.spaces
    assert set(spaces) == {"rgb", "depth", "object_type"}
    assert spaces["rgb"].shape == (24, 32, 3) and spaces["rgb"].dtype == np.uint8
    assert spaces["depth"].shape == (24, 32, 1) and spaces["depth"].dtype == np.float32
    assert isinstance(spaces["object_type"], gym.spaces.Text)
    assert env.action_space == gym.spaces.Discrete(6)
    obs, info = env.reset(seed=3)
    assert obs["object_type"] in {"Apple", "Chair"} and obs["object_type"] == info["object_type"]
    assert set(info) == CONTRACT_INFO and info["episode_length"] == 0 and info["path_length"] == 0.0
    assert set(info["agent"]) == {"position", "rotation", "cameraHorizon"}
    assert set(info["agent"]["position"]) == {"x", "y", "z"} and info["agent"]["cameraHorizon"] == 30.0
    assert obs["depth"].shape == (24, 32, 1) and float(obs["depth"].max()) == 1.5
    _, _, terminated, truncated, info = env.step(0)
    assert set(info) == CONTRACT_INFO and not terminated and not truncated
    check_env(env, skip_render_check=True)
    env.close()


def test_interface_equals_the_embedded_objectnav_env() -> None:
    pytest.importorskip("uio_agent.envs.nav.objectnav")
    embedded = make_env("objectnav/procedural")
    try:
        env = thor_env(
            width=embedded.observation_space["rgb"].shape[1],
            height=embedded.observation_space["rgb"].shape[0],
        )
        for key, space in embedded.observation_space.spaces.items():
            assert type(env.observation_space[key]) is type(space)
            assert (
                env.observation_space[key].shape == space.shape
                and env.observation_space[key].dtype == space.dtype
            )
        assert set(env.observation_space.spaces) == set(embedded.observation_space.spaces)
        assert env.action_space == embedded.action_space
        _, info = embedded.reset(seed=0)
        assert set(info) >= CONTRACT_INFO
        assert set(info["agent"]) >= {"position", "rotation", "cameraHorizon"}
    finally:
        embedded.close()


def test_success_spl_path_length_and_blocked_moves_hand_computed() -> None:
    env = thor_env()
    info = episode_from(env, lambda z, yaw: z <= 1.0)
    z0 = info["agent"]["position"]["z"]
    assert info["distance_to_target"] == pytest.approx(2.0 - z0)  # corners [start, z = 2.0]
    info = face(env, info, 0.0)
    while info["agent"]["position"]["z"] < 2.0 - 1e-9:
        info = step_name(env, "MoveAhead")[4]
    assert info["path_length"] == pytest.approx(2.0 - z0) and info["distance_to_target"] == pytest.approx(0.0)
    # the corridor ends at z = 2: the move is blocked, nothing moves, nothing is walked
    _, reward, terminated, _, info = step_name(env, "MoveAhead")
    assert info["lastActionSuccess"] is False and info["agent"]["position"]["z"] == pytest.approx(2.0)
    assert (
        info["path_length"] == pytest.approx(2.0 - z0) and reward == pytest.approx(-0.01) and not terminated
    )
    # a detour of 0.5 m: back one step, forward again
    info = face(env, info, 180.0)
    info = step_name(env, "MoveAhead")[4]
    info = face(env, info, 0.0)
    info = step_name(env, "MoveAhead")[4]
    assert [o["objectType"] for o in info["visible_objects"]] == ["Apple"]
    steps = info["episode_length"]
    _, reward, terminated, truncated, info = step_name(env, "End")
    assert terminated and not truncated and info["success"] is True and info["failure"] is False
    assert info["failure_reason"] is None and reward == pytest.approx(10.0 - 0.01)
    walked = (2.0 - z0) + 0.5
    assert info["path_length"] == pytest.approx(walked) and info["episode_length"] == steps + 1
    assert info["spl"] == pytest.approx((2.0 - z0) / walked)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.close()


def test_end_without_the_target_in_view_fails_even_with_another_object_visible() -> None:
    env = thor_env()
    info = episode_from(env, lambda z, yaw: z <= 0.25)
    info = face(env, info, 180.0)
    assert [o["objectType"] for o in info["visible_objects"]] == ["Chair"]
    _, reward, terminated, _, info = step_name(env, "End")
    assert terminated and info["success"] is False and info["spl"] == 0.0
    assert info["failure"] is True and info["failure_reason"] == "target_not_visible"
    assert reward == pytest.approx(-0.01)
    env.close()


def test_geodesic_retries_with_doubling_allowed_error_and_unreachable_targets() -> None:
    env = thor_env(start_tries=2)
    env.reset(seed=0, options={"object_type": "Apple"})
    controller = FakeController.instances[-1]
    errors = [args["allowedError"] for name, args in controller.calls if name == "GetShortestPath"]
    assert errors == [0.05, 0.1]  # allenact: 0.05 fails here, doubled once
    controller.calls.clear()
    with pytest.raises(ThorEpisodeError, match=r"no start among 2 .* BaseballBat"):
        env.reset(seed=0, options={"object_type": "BaseballBat"})
    errors = [args["allowedError"] for name, args in controller.calls if name == "GetShortestPath"]
    assert errors == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6] * 2  # until allowedError reaches 2.5, per start
    with pytest.raises(ThorEpisodeError, match="has no 'Toilet'"):
        env.reset(seed=0, options={"object_type": "Toilet"})
    with pytest.raises(ThorEpisodeError, match="no object of the target types"):
        thor_env(target_types=("Toilet",)).reset(seed=0)
    env.close()


def test_horizon_clamp_and_step_limit() -> None:
    env = thor_env(max_episode_steps=5)
    _, info = env.reset(seed=1)
    horizons, successes = [], []
    for name in ("LookUp", "LookUp", "LookUp", "LookDown"):
        _, _, _, truncated, info = step_name(env, name)
        horizons.append(info["agent"]["cameraHorizon"])
        successes.append(info["lastActionSuccess"])
    assert horizons == [0.0, -30.0, -30.0, 0.0] and successes == [True, True, False, True]
    _, _, terminated, truncated, info = step_name(env, "RotateLeft")
    assert truncated and not terminated and info["failure_reason"] == "step_limit"
    env.close()


def test_names_scenes_and_options(monkeypatch: pytest.MonkeyPatch) -> None:
    env = make_env("thor/FloorPlan_Train1_1", controller_class=FakeController, **SMALL)
    env.reset(seed=0)
    assert FakeController.instances[-1].scenes == ["FloorPlan_Train1_1"]
    # a built-in scene has no house pose: reachable positions first
    assert FakeController.instances[-1].calls[0][0] == "GetReachablePositions"
    env.close()
    generated: list[int] = []

    def fake_generate(seed: int) -> dict:
        generated.append(seed)
        return {**HOUSE, "seed": seed}

    monkeypatch.setattr("uio_agent.envs.nav.house.generate_house", fake_generate)
    procedural = make_env("thor/procedural", controller_class=FakeController, **SMALL)
    procedural.reset(seed=5)
    procedural.reset(seed=5)  # same house: no Unity reset
    procedural.reset(seed=6)
    assert generated == [5, 5, 6] and [s["seed"] for s in FakeController.instances[-1].scenes] == [5, 6]
    with pytest.raises(ValueError, match="no oracle"):
        procedural.reset(seed=0, options={"oracle": True})
    with pytest.raises(ValueError, match="unknown reset options"):
        procedural.reset(seed=0, options={"episode": 1})
    procedural.close()
    with pytest.raises(ValueError, match="needs houses"):
        make_env("thor/houses", controller_class=FakeController)
    with pytest.raises(ValueError, match="no levels"):
        make_env("thor@L1", controller_class=FakeController)
    with pytest.raises(ValueError, match="agent must be one of"):
        ThorConfig(agent="stretch")


def test_missing_ai2thor_and_unity_start_errors_say_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ai2thor", None)
    with pytest.raises(ThorUnavailableError, match="pip install ai2thor"):
        make_env("thor/procedural")

    class NoDisplay:
        def __init__(self, **kwargs: Any) -> None:
            raise OSError("cannot open display")

    env = thor_env(controller_class=NoDisplay)
    with pytest.raises(ThorStartError, match=r"x_display.*CloudRendering"):
        env.reset(seed=0)


def test_uio_policy_runs_episodes_on_thor() -> None:
    policy, oracle = build_policy("uio:tiny", "thor/houses")
    env_kwargs = {"houses": [HOUSE], "controller_class": FakeController, "max_episode_steps": 3, **SMALL}
    results = list(run_episodes("thor/houses", policy, [0, 1], oracle=oracle, env_kwargs=env_kwargs))
    summary = summarize(results)
    assert summary["episodes"] == 2 and "spl" in summary and "distance_to_target" in summary
    assert set(summary["failure_reasons"]) <= {"target_not_visible", "step_limit"}
