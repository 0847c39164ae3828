"""A truncated or corrupt dataset file gives a DatasetError that names the file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import h5py
import pytest
from dataset_fixtures import ACTION_SPACE, OBS_SPACE, make_episode

from uio_agent.data.errors import DatasetError
from uio_agent.data.reader import EpisodeDataset
from uio_agent.data.storage import write_dataset


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "ds"
    write_dataset(
        [make_episode(s) for s in range(3)], folder, observation_space=OBS_SPACE, action_space=ACTION_SPACE
    )
    return folder


def test_truncated_hdf5_names_the_file(dataset: Path) -> None:
    main = dataset / "data" / "main_data.hdf5"
    main.write_bytes(main.read_bytes()[: main.stat().st_size // 2])
    with pytest.raises(DatasetError, match=re.escape(str(main)) + ".*truncated or corrupt"):
        list(EpisodeDataset(dataset))


def test_corrupt_metadata_names_the_file(dataset: Path) -> None:
    meta = dataset / "data" / "metadata.json"
    meta.write_text(meta.read_text()[:-20])
    with pytest.raises(DatasetError, match=re.escape(str(meta)) + ".*truncated or corrupt"):
        EpisodeDataset(dataset)


def test_flipped_image_bytes_fail_the_checksum(dataset: Path) -> None:
    main = dataset / "data" / "main_data.hdf5"
    with h5py.File(main, "r") as file:
        chunk = file["episode_1/observations/segm/front"].id.get_chunk_info(0)
        offset = chunk.byte_offset + 10
    raw = bytearray(main.read_bytes())
    raw[offset] ^= 0xFF
    main.write_bytes(bytes(raw))
    data = EpisodeDataset(dataset)
    assert data[0].seed == 0 and data[2].seed == 2  # the damage is confined to episode 1
    with pytest.raises(DatasetError, match=re.escape(f"{main}: episode 1 (seed 1) fails its sha256 check")):
        data[1]


def test_missing_episodes_and_missing_dataset(dataset: Path, tmp_path: Path) -> None:
    meta = dataset / "data" / "metadata.json"
    content = json.loads(meta.read_text())
    content["total_episodes"] = 4
    meta.write_text(json.dumps(content))
    with pytest.raises(DatasetError, match=r"holds 3 episodes but metadata\.json says 4"):
        EpisodeDataset(dataset)
    with pytest.raises(DatasetError, match=re.escape(f"{tmp_path / 'nothing'}: no Minari dataset")):
        EpisodeDataset(tmp_path / "nothing")
