"""Shortest-path oracle and habitat-style episode datasets."""

import math

import numpy as np
import pytest

from uio_agent.agent.policy import OraclePolicy
from uio_agent.envs.nav.episodes import (
    EpisodeGenerationError,
    NavigationEpisode,
    generate_dataset,
    load_dataset,
    sample_episode,
    save_dataset,
)
from uio_agent.envs.nav.frames import quaternion_to_yaw
from uio_agent.envs.nav.geometry import FreeSpace
from uio_agent.envs.nav.house import house_from_rooms
from uio_agent.envs.nav.layout import parse_house
from uio_agent.envs.nav.pointnav import PointNavEnv


def run_oracle(env, seeds):
    policy = OraclePolicy()
    results = []
    for seed in seeds:
        obs, info = env.reset(seed=seed, options={"oracle": True})
        policy.reset(info)
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(policy.act(obs, info))
            done = terminated or truncated
        results.append((info["success"], info["spl"]))
    return np.array(results, dtype=np.float64)


@pytest.mark.parametrize("preset", ["benchmark", "locobot"])
def test_oracle_reaches_goals_near_optimally(preset):
    results = run_oracle(PointNavEnv(sensors=(), preset=preset), range(8))
    assert results[:, 0].mean() == 1.0
    assert results[:, 1].mean() >= 0.95


def test_oracle_plugs_into_the_agent_wrapper_interface():
    env = PointNavEnv(sensors=())
    obs, info = env.reset(seed=3, options={"oracle": True})
    oracle = env.oracle()
    done = False
    while not done:
        action = oracle.act(obs)
        assert action == info["oracle_action"]  # asking again never changes the follower's answer
        assert oracle.act(obs) == action
        obs, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    assert info["success"] and oracle.act(obs) is None and "oracle_action" not in info


def test_oracle_policy_needs_oracle_reset():
    env = PointNavEnv(sensors=())
    obs, info = env.reset(seed=0)
    policy = OraclePolicy()
    policy.reset(info)
    with pytest.raises(KeyError, match="oracle"):
        policy.act(obs, info)
    with pytest.raises(RuntimeError, match="oracle"):
        env.oracle()


def test_generated_episodes_follow_habitat_rules(tmp_path):
    episodes = generate_dataset("val", num_episodes=6, episodes_per_house=3, with_shortest_paths=True)
    assert [e.scene_id for e in episodes] == ["procedural/val/house_010000.json"] * 3 + [
        "procedural/val/house_010001.json"
    ] * 3
    for e in episodes:
        assert 1.0 <= e.info["geodesic_distance"] <= 30.0
        assert e.start_position[1] == e.goals[0]["position"][1] == 0.0
        x, y, z, w = e.start_rotation
        assert x == z == 0.0 and math.isclose(y * y + w * w, 1.0)
        assert e.goals[0]["radius"] == 0.2
        (path,) = e.shortest_paths
        assert path[0]["position"] == list(e.start_position) and path[-1]["action"] == 0
        assert all(p["action"] in (1, 2, 3) for p in path[:-1])
    path = save_dataset(episodes, tmp_path / "val" / "val.json.gz")
    loaded = load_dataset(path)
    assert loaded == episodes
    assert generate_dataset("val", num_episodes=6, episodes_per_house=3, with_shortest_paths=True) == episodes
    # replaying the file: the env starts exactly where the episode says
    env = PointNavEnv(sensors=(), dataset=str(path))
    _, info = env.reset(options={"episode_index": 4})
    assert info["episode_id"] == episodes[4].episode_id
    assert info["agent_position"] == pytest.approx(list(episodes[4].start_position))
    assert quaternion_to_yaw(info["agent_rotation"]) == pytest.approx(
        quaternion_to_yaw(episodes[4].start_rotation)
    )
    assert info["distance_to_goal"] == pytest.approx(episodes[4].info["geodesic_distance"], abs=1e-4)
    # the recorded oracle actions reach the goal when replayed
    for point in episodes[4].shortest_paths[0]:
        *_, info = env.step(point["action"])
    assert info["success"] is True


def test_split_file_with_per_scene_content_files(tmp_path):
    episodes = generate_dataset("test", num_episodes=4, episodes_per_house=2)
    save_dataset([], tmp_path / "test" / "test.json.gz")
    save_dataset(episodes[:2], tmp_path / "test" / "content" / "house_011000.json.gz")
    save_dataset(episodes[2:], tmp_path / "test" / "content" / "house_011001.json.gz")
    assert load_dataset(tmp_path / "test" / "test.json.gz") == episodes


def test_unreachable_goals_are_never_generated():
    # a big room and a sealed small room: every episode stays in the big one, with finite geodesics
    rooms = [
        ("LivingRoom", [(0, 0), (6, 0), (6, 6), (0, 6)]),
        ("Bathroom", [(6, 0), (8, 0), (8, 2), (6, 2)]),
    ]
    space = FreeSpace(parse_house(house_from_rooms(rooms)), 0.1, 1.5)
    rng = np.random.default_rng(0)
    for k in range(20):
        e = sample_episode(space, rng, str(k), "hand", 0.2)
        assert e.goal_position[0] < 6 and e.start_xz[0] < 6
        assert math.isfinite(space.geodesic_distance(e.start_xz, e.goal_position))
    tiny = FreeSpace(
        parse_house(house_from_rooms([("Bathroom", [(0, 0), (1.5, 0), (1.5, 1.5), (0, 1.5)])])), 0.1, 1.5
    )
    with pytest.raises(EpisodeGenerationError, match="island"):
        sample_episode(tiny, rng, "x", "hand", 0.2)


def test_malformed_episode_is_rejected():
    with pytest.raises(ValueError, match="malformed"):
        NavigationEpisode.from_json({"episode_id": "1", "scene_id": "s", "goals": []})
