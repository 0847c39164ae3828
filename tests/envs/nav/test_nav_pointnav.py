"""PointNavEnv against hand-computed metric cases and habitat's interface."""

import math

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from uio_agent.envs import make_env
from uio_agent.envs.nav.episodes import NavigationEpisode
from uio_agent.envs.nav.frames import pointgoal_polar, yaw_to_quaternion
from uio_agent.envs.nav.house import house_from_rooms, save_house
from uio_agent.envs.nav.layout import WALL_THICKNESS
from uio_agent.envs.nav.pointnav import PointNavEnv

STOP, FORWARD, LEFT, RIGHT = 0, 1, 2, 3
CORRIDOR = [("LivingRoom", [(0, 0), (1, 0), (1, 6), (0, 6)])]
EPISODE = {
    "episode_id": "0",
    "scene_id": "procedural/val/house_010000.json",
    "start_position": [0.0, 0.0, 0.0],
    "start_rotation": [0.0, 0.0, 0.0, 1.0],
    "goals": [{"position": [1.0, 0.0, 1.0], "radius": 0.2}],
}
L_SHAPE = [("LivingRoom", [(0, 0), (4, 0), (4, 1), (1, 1), (1, 4), (0, 4)])]


def hand_env(tmp_path, rooms, start, goal, yaw, **kwargs):
    save_house(house_from_rooms(rooms), tmp_path / "hand" / "house.json")
    env = PointNavEnv(sensors=(), scenes_dir=str(tmp_path), **kwargs)
    episode = NavigationEpisode(
        episode_id="hand",
        scene_id="hand/house.json",
        start_position=(start[0], 0.0, start[1]),
        start_rotation=tuple(yaw_to_quaternion(yaw)),
        goals=({"position": [goal[0], 0.0, goal[1]], "radius": 0.2},),
    )
    return env, episode


def test_straight_corridor_success_and_spl(tmp_path):
    env, episode = hand_env(
        tmp_path, CORRIDOR, (0.5, 5.5), (0.5, 1.0), yaw=0.0
    )  # facing -z, goal 4.5 m ahead
    obs, info = env.reset(options={"episode": episode})
    assert info["distance_to_goal"] == pytest.approx(4.5)
    np.testing.assert_allclose(obs["pointgoal_with_gps_compass"], [4.5, 0.0], atol=1e-6)
    total = 0.0
    for _ in range(18):
        obs, reward, terminated, truncated, info = env.step(FORWARD)
        total += reward
        assert not (terminated or truncated)
    assert info["distance_to_goal"] == pytest.approx(0.0, abs=1e-9)
    obs, reward, terminated, truncated, info = env.step(STOP)
    total += reward
    assert terminated and not truncated
    assert info["success"] is True and info["failure"] is False
    assert info["spl"] == pytest.approx(1.0) and info["soft_spl"] == pytest.approx(1.0)
    assert info["collisions"] == {"count": 0, "is_collision": False}
    assert total == pytest.approx(19 * -0.01 + 4.5 + 2.5)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(FORWARD)


def test_stop_too_far_fails_with_habitat_soft_spl(tmp_path):
    env, episode = hand_env(tmp_path, CORRIDOR, (0.5, 5.5), (0.5, 1.0), yaw=0.0)
    env.reset(options={"episode": episode})
    for _ in range(10):
        env.step(FORWARD)
    *_, info = env.step(STOP)
    assert info["distance_to_goal"] == pytest.approx(2.0)
    assert info["success"] is False and info["spl"] == 0.0
    assert info["soft_spl"] == pytest.approx((1 - 2.0 / 4.5) * 4.5 / max(4.5, 2.5))
    assert info["failure_reason"] == "stopped_too_far"


@pytest.mark.parametrize(("start_z", "success"), [(1.5, False), (1.375, True)])
def test_success_is_stop_within_success_distance(tmp_path, start_z, success):
    env, episode = hand_env(tmp_path, CORRIDOR, (0.5, start_z), (0.5, 1.0), yaw=0.0)
    env.reset(options={"episode": episode})
    env.step(FORWARD)  # leaves 0.25 m (fail) or 0.125 m (success) to the goal
    *_, info = env.step(STOP)
    assert info["distance_to_goal"] == pytest.approx(start_z - 1.25)
    assert info["success"] is success


def test_l_shaped_path_spl_uses_geodesic_start_distance(tmp_path):
    env, episode = hand_env(tmp_path, L_SHAPE, (0.5, 3.5), (3.5, 0.5), yaw=0.0)
    _, info = env.reset(options={"episode": episode})
    d0 = info["distance_to_goal"]
    assert 5.25 < d0 < 5.4  # tangent-arc-tangent 5.305 m, see test_nav_geometry
    # walk down the first arm (3 m), turn right 90 degrees (facing -z, +x is on the right), walk 3 m, stop
    for _ in range(12):
        env.step(FORWARD)
    for _ in range(9):
        env.step(RIGHT)
    for _ in range(12):
        *_, info = env.step(FORWARD)
    *_, info = env.step(STOP)
    assert info["success"] is True
    assert info["path_length"] == pytest.approx(6.0, abs=1e-6)
    assert info["spl"] == pytest.approx(d0 / 6.0, rel=1e-6)


def test_sliding_along_a_wall_counts_collisions(tmp_path):
    env, episode = hand_env(
        tmp_path, CORRIDOR, (0.8, 5.0), (0.5, 1.0), yaw=-math.pi / 4
    )  # 45 deg into x = 0.95
    env.reset(options={"episode": episode})
    *_, info = env.step(FORWARD)
    assert info["collisions"] == {"count": 1, "is_collision": True}
    x, _, z = info["agent_position"]
    assert x == pytest.approx(1 - WALL_THICKNESS / 2 - 0.1, abs=1e-3)
    assert z == pytest.approx(5.0 - 0.25 * math.sqrt(0.5), abs=1e-3)
    *_, info = env.step(LEFT)
    assert info["collisions"] == {"count": 1, "is_collision": False}


def test_no_sliding_option_stops_at_contact(tmp_path):
    env, episode = hand_env(tmp_path, CORRIDOR, (0.8, 5.0), (0.5, 1.0), yaw=-math.pi / 4, allow_sliding=False)
    env.reset(options={"episode": episode})
    *_, info = env.step(FORWARD)
    assert info["collisions"]["is_collision"]
    assert info["agent_position"][2] == pytest.approx(5.0 - 0.05, abs=1e-3)


def test_challenge_pointgoal_is_fixed_at_the_start(tmp_path):
    env, episode = hand_env(tmp_path, CORRIDOR, (0.5, 5.5), (0.5, 1.0), yaw=0.0)
    env = PointNavEnv(sensors=("pointgoal",), scenes_dir=str(tmp_path))
    obs, _ = env.reset(options={"episode": episode})
    start = obs["pointgoal"].copy()
    np.testing.assert_allclose(start, [4.5, 0.0], atol=1e-6)
    obs, *_ = env.step(FORWARD)
    obs, *_ = env.step(LEFT)
    np.testing.assert_array_equal(obs["pointgoal"], start)
    np.testing.assert_allclose(obs["pointgoal_with_gps_compass"], [4.25, -math.radians(10)], atol=1e-5)


def test_pointgoal_sign_convention():
    # agent at the origin facing -z (yaw 0): a goal at -x is to its left -> positive angle
    left = pointgoal_polar(np.zeros(2), 0.0, np.array([-2.0, 0.0]))
    np.testing.assert_allclose(left, [2.0, math.pi / 2], atol=1e-6)
    right = pointgoal_polar(np.zeros(2), 0.0, np.array([0.0, -1.0]) + np.array([1.0, 0.0]))
    assert right[1] == pytest.approx(-math.pi / 4)
    # after turning left by 90 degrees the -x goal is straight ahead
    np.testing.assert_allclose(
        pointgoal_polar(np.zeros(2), math.pi / 2, np.array([-2.0, 0.0])), [2.0, 0.0], atol=1e-6
    )


def test_check_env_spaces_and_determinism():
    env = make_env("pointnav/procedural", width=64, height=64)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=11)
    assert obs["rgb"].shape == (64, 64, 3) and obs["rgb"].dtype == np.uint8
    assert obs["depth"].shape == (64, 64, 1) and obs["depth"].dtype == np.float32
    assert obs["depth"].min() >= 0.0 and obs["depth"].max() <= 1.0
    assert obs["pointgoal_with_gps_compass"].dtype == np.float32
    again, info2 = make_env("pointnav/procedural", width=64, height=64).reset(seed=11)
    assert info["episode_id"] == info2["episode_id"] and info["agent_position"] == info2["agent_position"]
    np.testing.assert_array_equal(obs["rgb"], again["rgb"])
    np.testing.assert_array_equal(obs["depth"], again["depth"])
    env.close()


def test_registered_gym_id_passes_check_env_with_render():
    import gymnasium as gym

    import uio_agent.envs.nav  # noqa: F401  (registers the ids)

    env = gym.make("uio_agent/pointnav-procedural-v0", width=32, height=32, render_mode="rgb_array")
    check_env(env.unwrapped)
    env.reset(seed=4)
    frame = env.render()
    assert frame.shape == (32, 32, 3) and frame.dtype == np.uint8
    env.close()


def test_benchmark_spaces_match_habitat():
    env = PointNavEnv()
    assert env.observation_space["rgb"].shape == (256, 256, 3)
    assert env.observation_space["depth"].shape == (256, 256, 1)
    assert env.observation_space["pointgoal_with_gps_compass"].shape == (2,)
    assert env.action_space.n == 4
    assert env.config.max_episode_steps == 500


def test_truncation_at_step_limit(tmp_path):
    env, episode = hand_env(tmp_path, CORRIDOR, (0.5, 5.5), (0.5, 1.0), yaw=0.0, max_episode_steps=3)
    env.reset(options={"episode": episode})
    env.step(LEFT)
    env.step(LEFT)
    *_, terminated, truncated, info = env.step(LEFT)
    assert truncated and not terminated and info["failure_reason"] == "step_limit"


def test_bad_actions_and_options_raise():
    env = PointNavEnv(sensors=())
    env.reset(seed=0)
    for bad in (4, -1, 1.0, "forward", True, np.array([1, 2])):
        with pytest.raises(ValueError, match="action"):
            env.step(bad)
    env.step(np.int64(2))
    with pytest.raises(ValueError, match="reset options"):
        env.reset(options={"orcale": True})
    with pytest.raises(ValueError, match="preset"):
        PointNavEnv(preset="roomba")
    with pytest.raises(ValueError, match="unknown PointNav options"):
        PointNavEnv(agent_radiuss=0.2)
    with pytest.raises(ValueError, match="sensors"):
        PointNavEnv(sensors=("lidar",))
    with pytest.raises(ValueError, match="house set"):
        make_env("pointnav/gibson")
    with pytest.raises(ValueError, match="max_episode_steps"):
        PointNavEnv(max_episode_steps=0)
    with pytest.raises(ValueError, match="hfov"):
        PointNavEnv(hfov=180)
    with pytest.raises(ValueError, match="camera_height"):
        PointNavEnv(camera_height=2.0)
    with pytest.raises(ValueError, match="split"):
        PointNavEnv(split="dev")
    with pytest.raises(ValueError, match="procedural/<split>"):
        PointNavEnv(dataset="gibson_val")
    with pytest.raises(ValueError, match="scene"):
        env.reset(
            options={"episode": {**NavigationEpisode.from_json(EPISODE).to_json(), "scene_id": "mp3d/x.glb"}}
        )


def test_locobot_preset():
    env = PointNavEnv(preset="locobot", width=128, height=72, sensors=("rgb",))
    body = env.config.embodiment
    assert (body.agent_height, body.agent_radius, body.camera_height) == (0.88, 0.18, 0.88)
    assert body.turn_angle == 30 and body.success_distance == 0.36 and not body.allow_sliding
    obs, _ = env.reset(seed=2)
    assert obs["rgb"].shape == (72, 128, 3)
    env.close()
