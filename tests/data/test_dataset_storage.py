"""Writing, reading back exactly, streaming, combining; plain minari reads what we write."""

from __future__ import annotations

import pickle
from pathlib import Path

import minari
import numpy as np
import pytest
from dataset_fixtures import ACTION_SPACE, OBS_SPACE, assert_same, assert_same_episode, make_episode

from uio_agent.data import exact_json, prompt_assets
from uio_agent.data.reader import EpisodeDataset
from uio_agent.data.storage import combine_datasets, dataset_id_for, read_metadata, write_dataset


def _write(folder: Path, seeds: list[int], **kwargs: object) -> list:
    episodes = [make_episode(s, steps=1 + s % 3) for s in seeds]
    n = write_dataset(
        episodes, folder, observation_space=OBS_SPACE, action_space=ACTION_SPACE, batch_size=2, **kwargs
    )
    assert n == len(episodes)
    return episodes


def test_exact_json_keeps_types() -> None:
    value = {
        1: {"a": (1, 2.5, None)},
        "b": [np.int64(3), np.float32(0.25), np.arange(4, dtype=np.uint8).reshape(2, 2)],
        "__tuple__": "a key that looks like a tag",
        "nan": float("inf"),
    }
    assert_same(exact_json.loads(exact_json.dumps(value)), value)
    with pytest.raises(TypeError, match=r"value\.s"):
        exact_json.dumps({"s": {1, 2}})


def test_prompt_assets_are_arrays_with_a_mask() -> None:
    assets = make_episode(0).prompt_assets
    packed = prompt_assets.pack(assets)
    assert packed.names == ["dragged_obj", "scene"]
    assert packed.arrays["rgb/front"].shape == (2, 3, 8, 16)
    assert packed.masks["rgb/top"].tolist() == [True, False]  # the scene has no top view
    assert not packed.arrays["rgb/top"][1].any()
    assert_same(prompt_assets.unpack(packed), assets)
    bad = {"a": {"rgb": np.zeros((3, 2, 2), np.uint8)}, "b": {"rgb": np.zeros((3, 4, 4), np.uint8)}}
    with pytest.raises(ValueError, match="rgb"):
        prompt_assets.pack(bad)


def test_a_relative_folder_writes_and_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``runs/...`` as the quickstart's default: minari 0.5.4 joins a relative data path with itself."""
    monkeypatch.chdir(tmp_path)
    episodes = _write(Path("runs/ds"), [0, 1, 2])
    back = EpisodeDataset(Path("runs/ds"))
    assert [e.seed for e in back] == [0, 1, 2]
    assert_same_episode(episodes[2], back[2])


def test_round_trip_is_exact(tmp_path: Path) -> None:
    episodes = _write(tmp_path / "ds", [0, 1, 2, 3, 4], metadata={"collection": {"policy": "test"}})
    dataset = EpisodeDataset(tmp_path / "ds")
    assert len(dataset) == 5
    for original, back in zip(episodes, dataset, strict=True):
        assert_same_episode(original, back)
    assert dataset.env_names == ["tabletop/visual_manipulation@L1"]
    assert dataset.seeds().tolist() == [0, 1, 2, 3, 4]
    assert dataset.episode_info(1) == {
        "seed": 1,
        "env_name": "tabletop/visual_manipulation@L1",
        "prompt": episodes[1].prompt,
        "success": False,
        "failure_reason": "wrong object",
        "num_steps": 2,
    }
    assert_same_episode(dataset[-1], episodes[-1])
    assert [e.seed for e in dataset[1:3]] == [1, 2]
    with pytest.raises(IndexError):
        dataset[5]
    meta = read_metadata(tmp_path / "ds")
    assert meta["jpeg_encoding"] is False and meta["data_format"] == "hdf5"
    block = meta["uio_agent"]
    assert block["collection"] == {"policy": "test"}
    assert set(block["versions"]) >= {"uio-agent", "minari", "numpy"}
    assert meta["total_steps"] == sum(e.num_steps for e in episodes)


def test_streaming_reads_one_episode_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "ds", [0, 1, 2])
    dataset = EpisodeDataset(tmp_path / "ds")
    reads: list[int] = []
    original = EpisodeDataset._read
    monkeypatch.setattr(EpisodeDataset, "_read", lambda self, i: reads.append(i) or original(self, i))
    iterator = iter(dataset)
    assert next(iterator).seed == 0 and reads == [0]
    assert next(iterator).seed == 1 and reads == [0, 1]
    # picklable for DataLoader workers: the HDF5 handle is reopened in the new process
    clone = pickle.loads(pickle.dumps(dataset))
    assert clone[2].seed == 2
    dataset.close()


def test_plain_minari_reads_it_and_nothing_goes_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("MINARI_DATASETS_PATH", raising=False)
    episodes = _write(tmp_path / "demos-v2", [0, 1])
    assert list(home.iterdir()) == []
    plain = minari.MinariDataset(tmp_path / "demos-v2" / "data")
    assert plain.total_episodes == 2 and plain.spec.dataset_id == "demos-v2"
    first = plain[0]
    stacked = np.stack([o["segm"]["front"] for o in episodes[0].observations])
    np.testing.assert_array_equal(first.observations["segm"]["front"], stacked)  # lossless segmentation
    assert first.infos["prompt_assets"]["masks"]["rgb"]["top"].tolist() == [True, False]
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    assert minari.load_dataset("demos-v2").total_episodes == 2
    assert dataset_id_for(Path("x/my demos")) == "my_demos-v0"


def test_write_refuses_to_overwrite_and_unstorable_episodes(tmp_path: Path) -> None:
    _write(tmp_path / "ds", [0])
    with pytest.raises(FileExistsError, match="already exists"):
        _write(tmp_path / "ds", [1])
    empty = make_episode(0)
    empty.observations, empty.actions = empty.observations[:1], []
    with pytest.raises(ValueError, match="no actions"):
        write_dataset([empty], tmp_path / "e", observation_space=OBS_SPACE, action_space=ACTION_SPACE)
    assert not (tmp_path / "e" / "data").exists()  # nothing half-written is left visible
    assert [p.name for p in (tmp_path / "e").iterdir()] == []


def test_combine_keeps_order_and_bytes(tmp_path: Path) -> None:
    first = _write(tmp_path / "a", [0, 1])
    second = _write(tmp_path / "b", [7])
    assert combine_datasets([tmp_path / "a", tmp_path / "b"], tmp_path / "all", metadata={"note": 1}) == 3
    combined = EpisodeDataset(tmp_path / "all")
    assert combined.seeds().tolist() == [0, 1, 7]
    for original, back in zip(first + second, combined, strict=True):
        assert_same_episode(original, back)
    assert read_metadata(tmp_path / "all")["uio_agent"]["note"] == 1
