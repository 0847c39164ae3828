"""Per-step infos (the agent pose navigation training needs): kept from rollouts, stored under
``infos/steps``, read back exactly; datasets without them still load and say so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import minari
import numpy as np
import pytest
from dataset_fixtures import ACTION_SPACE, OBS_SPACE, assert_same, assert_same_episode, make_episode
from gymnasium import spaces

from uio_agent.codecs.objectnav import ObjectNavCodec
from uio_agent.codecs.pointnav import PointNavCodec
from uio_agent.data.episode import Episode
from uio_agent.data.errors import DatasetError
from uio_agent.data.reader import EpisodeDataset
from uio_agent.data.step_infos import STEP_INFO_KEYS
from uio_agent.data.storage import combine_datasets, read_metadata, write_dataset

NAV_OBS = spaces.Dict({"rgb": spaces.Box(0, 255, (4, 6, 3), np.uint8)})
NAV_ACTIONS = spaces.Discrete(6)


def pointnav_info(t: int) -> dict[str, Any]:
    """What PointNavEnv reports: lists of Python floats, plus keys a dataset does not keep."""
    return {
        "agent_position": [0.1 * t, 0.0, -0.25 * t],
        "agent_rotation": [0.0, float(np.sin(0.1 * t)), 0.0, float(np.cos(0.1 * t))],
        "distance_to_goal": 3.0 - t,
        "collisions": {"count": 0, "is_collision": False},
    }


def thor_info(t: int) -> dict[str, Any]:
    """What ObjectNavEnv reports: THOR's nested agent dict, plus keys a dataset does not keep."""
    return {
        "agent": {
            "position": {"x": 2.0 + 0.25 * t, "y": 0.9, "z": 0.25},
            "rotation": {"x": 0.0, "y": 30.0 * t, "z": 0.0},
            "cameraHorizon": 30.0 - 30.0 * (t % 2),
        },
        "visible_objects": [{"objectId": "Apple|1", "distance": 1.5}][: t % 2],
        "lastActionSuccess": True,
    }


def nav_episode(seed: int, info: Any, steps: int = 3) -> Episode:
    rng = np.random.default_rng(seed)
    trajectory = {
        "observations": [{"rgb": rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)} for _ in range(steps + 1)],
        "actions": [np.int64(rng.integers(0, 6)) for _ in range(steps)],
        "infos": [info(t) for t in range(steps + 1)],
    }
    return Episode.from_trajectory(
        "objectnav/procedural", seed, trajectory, success=True, failure_reason=None
    )


def _write(folder: Path, episodes: list[Episode]) -> EpisodeDataset:
    write_dataset(episodes, folder, observation_space=NAV_OBS, action_space=NAV_ACTIONS)
    return EpisodeDataset(folder)


def test_rollout_infos_keep_the_pose_keys_of_every_step() -> None:
    pointnav = nav_episode(0, pointnav_info)
    assert [sorted(i) for i in pointnav.step_infos] == [["agent_position", "agent_rotation"]] * 4
    second = pointnav.step_infos[2]
    assert second["agent_position"].dtype == np.float64
    np.testing.assert_array_equal(second["agent_position"], [0.2, 0.0, -0.5])
    thor = nav_episode(1, thor_info)
    agent = thor.step_infos[1]["agent"]
    assert list(agent) == ["cameraHorizon", "position", "rotation"]  # sorted, as HDF5 lists members
    assert agent["rotation"]["y"] == 30.0 and agent["cameraHorizon"] == 0.0
    # both navigation codecs read only keys that datasets keep, and read the same values back
    for codec, episode, info in (
        (PointNavCodec(), pointnav, pointnav_info),
        (ObjectNavCodec(), thor, thor_info),
    ):
        assert set(codec.pose_keys) <= set(STEP_INFO_KEYS)
        kept = codec.relative_pose(episode.step_infos[0], episode.step_infos[3])
        assert kept == codec.relative_pose(info(0), info(3))
    # a VIMA rollout reports no pose: nothing is kept
    vima = {"observations": [{}, {}], "actions": [{}], "infos": [{"prompt": "p"}, {"success": True}]}
    assert Episode.from_trajectory("tabletop/x", 0, vima, success=True, failure_reason=None).step_infos == []


def test_inconsistent_step_infos_are_refused_with_the_step() -> None:
    def losing(t: int) -> dict[str, Any]:
        info = pointnav_info(t)
        if t == 2:
            del info["agent_rotation"]
        return info

    with pytest.raises(ValueError, match=r"info 2 lacks \['agent_rotation'\]"):
        nav_episode(0, losing)
    with pytest.raises(ValueError, match="only numbers and booleans"):
        nav_episode(0, lambda t: {"agent": {"name": "agent"}})
    with pytest.raises(ValueError, match="shape"):
        nav_episode(0, lambda t: {"agent_position": [0.0] * (3 + t % 2)})
    with pytest.raises(ValueError, match="step infos for"):
        Episode("x/y", 0, [{}, {}], [0], step_infos=[{}])


def test_step_infos_round_trip_exactly_and_plain_minari_reads_them(tmp_path: Path) -> None:
    for name, info in (("pointnav", pointnav_info), ("thor", thor_info)):
        episodes = [nav_episode(seed, info, steps=2 + seed) for seed in range(3)]
        dataset = _write(tmp_path / name, episodes)
        assert dataset.step_info_keys == sorted(episodes[0].step_infos[0])
        assert read_metadata(tmp_path / name)["uio_agent"]["format_version"] == 2
        for original, back in zip(episodes, dataset, strict=True):
            assert_same_episode(original, back)
    plain = minari.MinariDataset(tmp_path / "thor" / "data")[2]
    assert plain.infos["steps"]["agent"]["position"]["x"].shape == (5,)  # T + 1 entries, Minari's convention
    plain = minari.MinariDataset(tmp_path / "pointnav" / "data")[0]
    assert plain.infos["steps"]["agent_rotation"].shape == (3, 4)


def test_datasets_without_step_infos_load_and_combine_only_with_their_kind(tmp_path: Path) -> None:
    vima = [make_episode(s) for s in range(2)]
    write_dataset(vima, tmp_path / "vima", observation_space=OBS_SPACE, action_space=ACTION_SPACE)
    dataset = EpisodeDataset(tmp_path / "vima")
    assert dataset.step_info_keys == [] and all(e.step_infos == [] for e in dataset)
    assert_same_episode(vima[0], dataset[0])
    # a format-1 dataset (written before step infos existed) reads as episodes without them
    nav = [nav_episode(s, pointnav_info) for s in range(2)]
    old = [Episode(e.env_name, e.seed, e.observations, e.actions, success=True) for e in nav]
    _write(tmp_path / "old", old)
    metadata_file = tmp_path / "old" / "data" / "metadata.json"
    metadata = json.loads(metadata_file.read_text())
    del metadata["uio_agent"]["step_info_keys"]
    metadata["uio_agent"]["format_version"] = 1
    metadata_file.write_text(json.dumps(metadata))
    assert EpisodeDataset(tmp_path / "old").step_info_keys == []
    assert EpisodeDataset(tmp_path / "old")[1].step_infos == []
    # with and without poses do not combine; an empty source (every attempt dropped) does not count
    _write(tmp_path / "new", nav)
    with pytest.raises(DatasetError, match="same per-step infos"):
        combine_datasets([tmp_path / "new", tmp_path / "old"], tmp_path / "mixed")
    write_dataset([], tmp_path / "empty", observation_space=NAV_OBS, action_space=NAV_ACTIONS)
    assert combine_datasets([tmp_path / "empty", tmp_path / "new"], tmp_path / "all") == 2
    combined = EpisodeDataset(tmp_path / "all")
    assert combined.step_info_keys == ["agent_position", "agent_rotation"]
    assert_same(nav[1].step_infos, combined[1].step_infos)
    with pytest.raises(ValueError, match="different per-step info keys"):
        write_dataset(nav + old, tmp_path / "both", observation_space=NAV_OBS, action_space=NAV_ACTIONS)
