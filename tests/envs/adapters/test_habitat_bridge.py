"""The habitat-lab adapter against a fake backend (``fake_habitat``: habitat's core ``Env`` API, its
observation and metric shapes) through the out-of-process bridge, and in-process."""

from __future__ import annotations

import ast
import math
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from uio_agent.agent.policy import OracleActionWrapper
from uio_agent.envs import make_env
from uio_agent.envs.adapters import habitat as adapter
from uio_agent.envs.adapters.habitat import HabitatEnv, HabitatUnavailableError
from uio_agent.envs.remote import WorkerDiedError

HERE = Path(__file__).resolve().parent
WORKER_ENV = {"PYTHONPATH": str(HERE)}
FAKE = {"python": sys.executable, "module": "fake_habitat", "worker_env": WORKER_ENV}


@pytest.fixture(autouse=True)
def _no_user_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's UIO_AGENT_HABITAT_PYTHON must not change which backend these tests use."""
    monkeypatch.delenv(adapter.PYTHON_ENV_VAR, raising=False)


@pytest.fixture(scope="module")
def fake_env() -> gym.Env:
    env = make_env("habitat/gibson", overrides=["habitat.environment.max_episode_steps=60"], **FAKE)
    yield env
    env.close()


def test_worker_side_files_are_python38_compatible() -> None:
    for path in [
        Path(adapter.__file__).with_name("habitat_worker.py"),
        *sorted((HERE / "fake_habitat").rglob("*.py")),
    ]:
        ast.parse(path.read_text(), filename=str(path), feature_version=(3, 8))


def test_spaces_and_backend_match_habitat(fake_env: HabitatEnv) -> None:
    env = fake_env
    assert env.backend["in_process"] is False and env.backend["episodes"] == 3
    spaces = env.observation_space.spaces
    assert spaces["rgb"].shape == (256, 256, 3) and spaces["rgb"].dtype == np.uint8
    assert spaces["depth"].shape == (256, 256, 1) and spaces["depth"].dtype == np.float32
    assert spaces["pointgoal_with_gps_compass"].shape == (2,)
    assert env.action_space == gym.spaces.Discrete(4)
    assert env.max_episode_steps == 60 and env.success_distance == pytest.approx(0.2)


def test_oracle_episode_reports_pointnav_info(fake_env: HabitatEnv) -> None:
    env = OracleActionWrapper(fake_env)
    obs, info = env.reset(seed=3)  # 3 mod 3 episodes = episode 0: the goal 2 m straight ahead
    assert info["episode_id"] == "0" and info["distance_to_goal"] == pytest.approx(2.0)
    assert obs["pointgoal_with_gps_compass"] == pytest.approx([2.0, 0.0], abs=1e-6)
    assert info["agent_position"] == pytest.approx([0.0, 0.1, 0.0]) and len(info["agent_rotation"]) == 4
    steps, total = 0, 0.0
    while True:
        obs, reward, terminated, truncated, info = env.step(info["oracle_action"])
        total += reward
        steps += 1
        if terminated or truncated:
            break
    assert terminated and not truncated and steps == 9  # 8 x 0.25 m, then STOP
    assert info["success"] is True and info["failure"] is False and info["failure_reason"] is None
    assert info["spl"] == pytest.approx(1.0) and info["soft_spl"] == pytest.approx(
        1.0
    )  # soft_spl was configured
    assert info["collisions"] == {"count": 0, "is_collision": False}
    assert info["oracle_action"] is None
    # habitat RLTaskEnv's reward: slack per step, distance decrease, success bonus
    assert total == pytest.approx(-0.01 * steps + 2.0 + 2.5)
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(1)


def test_turning_episode_pose_and_oracle(fake_env: HabitatEnv) -> None:
    env = OracleActionWrapper(fake_env)
    _, info = env.reset(seed=1)
    start = info["agent_position"]
    _, _, _, _, info = env.step(2)  # turn left 10 degrees about +y
    _x, y, _z, w = info["agent_rotation"]
    assert info["agent_position"] == pytest.approx(start)
    assert 2 * math.atan2(y, w) == pytest.approx(math.pi / 2 + math.radians(10), abs=1e-6)
    while info["oracle_action"] is not None:
        _, _, terminated, _truncated, info = env.step(info["oracle_action"])
    assert info["success"] and terminated


def test_collisions_step_limit_and_failure(fake_env: HabitatEnv) -> None:
    fake_env.reset(seed=2)  # near a corner, facing +z: walking forward hits the wall
    for _ in range(59):
        _, _, terminated, truncated, info = fake_env.step(1)
        assert not terminated and not truncated
    _, _, terminated, truncated, info = fake_env.step(1)
    assert truncated and not terminated  # habitat ended the episode at max_episode_steps
    assert info["failure"] is True and info["failure_reason"] == "step_limit" and not info["success"]
    assert info["collisions"]["count"] > 0 and info["collisions"]["is_collision"] is True
    _, info = fake_env.reset(seed=0)
    _, _, terminated, _, info = fake_env.step(0)  # STOP 2 m away
    assert terminated and info["failure_reason"] == "stopped_too_far" and info["spl"] == 0.0


def test_seeds_select_episodes_reproducibly(fake_env: HabitatEnv) -> None:
    first = [fake_env.reset(seed=s)[1]["episode_id"] for s in (0, 1, 2, 4)]
    assert first == ["0", "1", "2", "1"]
    a, _ = fake_env.reset(seed=5)
    b, _ = fake_env.reset(seed=5)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    _, info = fake_env.reset(options={"episode_index": 2})
    assert info["episode_id"] == "2"
    with pytest.raises(ValueError, match="unknown reset options"):
        fake_env.reset(options={"bogus": 1})


def test_bad_actions_and_oracle_misuse(fake_env: HabitatEnv) -> None:
    fake_env.reset(seed=0)
    for bad in (4, -1, 1.5, True, np.array([1]), "move_forward"):
        with pytest.raises(ValueError, match="PointNav action must be an int"):
            fake_env.step(bad)
    with pytest.raises(RuntimeError, match="oracle"):
        fake_env.oracle()
    _, _, _, _, info = fake_env.step(np.int64(1))
    assert "oracle_action" not in info


def test_check_env_passes(fake_env: HabitatEnv) -> None:
    check_env(fake_env, skip_render_check=True)


def test_in_process_when_habitat_imports_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    env = make_env("habitat", module="fake_habitat", overrides=["habitat.environment.max_episode_steps=5"])
    try:
        assert env.backend["in_process"] is True
        obs, info = env.reset(seed=0, options={"oracle": True})
        assert env.oracle().act(obs) == info["oracle_action"] == 1
    finally:
        env.close()


def test_worker_crash_and_missing_habitat_are_clear(tmp_path: Path) -> None:
    env = make_env("habitat", overrides=["fake.crash_on_step=2"], **FAKE)
    try:
        env.reset(seed=0)
        env.step(1)
        with pytest.raises(WorkerDiedError):
            env.step(1)
    finally:
        env.close()
    with pytest.raises(HabitatUnavailableError, match="UIO_AGENT_HABITAT_PYTHON"):
        make_env("habitat", python=sys.executable, module="no_such_habitat_module")
    with pytest.raises(HabitatUnavailableError, match="not importable"):
        make_env("habitat", module="no_such_habitat_module")


def test_names_and_options_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown habitat PointNav dataset"):
        make_env("habitat/replica", **FAKE)
    with pytest.raises(ValueError, match="no levels"):
        make_env("habitat@L1", **FAKE)
    with pytest.raises(ValueError, match="list of Hydra strings"):
        HabitatEnv(overrides="habitat.seed=1", **FAKE)  # type: ignore[arg-type]
