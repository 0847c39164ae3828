"""Stream :class:`Episode`s out of a dataset folder, one at a time.

``EpisodeDataset(folder)`` opens ``main_data.hdf5`` once (lazily, per process, so it can be handed to
torch ``DataLoader`` workers) and decodes one episode group per access: memory holds one episode,
whatever the dataset size. Every episode is checked against the sha256 written with it, and any HDF5
or format failure becomes a :class:`DatasetError` naming the file and the episode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import gymnasium as gym
import h5py
import numpy as np
from minari.serialization import deserialize_space

from uio_agent.data import layout
from uio_agent.data.episode import Episode
from uio_agent.data.errors import DatasetError
from uio_agent.data.storage import DATA_DIR, MAIN_FILE, METADATA_KEY, read_metadata


def _decode(node: Any, space: gym.Space[Any] | None) -> Any:
    """An HDF5 group/dataset as nested dicts/tuples of arrays (``space`` drives Tuple and Text)."""
    if isinstance(node, h5py.Group):
        if isinstance(space, gym.spaces.Tuple):
            return tuple(_decode(node[f"_index_{i}"], sub) for i, sub in enumerate(space))
        if isinstance(space, gym.spaces.Dict):
            missing = set(space.spaces) - set(node.keys())
            if missing:
                raise KeyError(f"group {node.name} lacks {sorted(missing)}")
            return {key: _decode(node[key], sub) for key, sub in space.spaces.items()}
        return {key: _decode(node[key], None) for key in node}
    if not isinstance(node, h5py.Dataset):
        raise KeyError(f"{node!r} is neither a group nor a dataset")
    return node[()]


class EpisodeDataset(Sequence[Episode]):
    """The episodes of one dataset folder (``folder/data/...``, or the ``data`` folder itself)."""

    def __init__(self, folder: str | os.PathLike[str], *, verify: bool = True) -> None:
        self.folder = Path(folder)
        self.metadata = read_metadata(self.folder)
        base = self.folder / DATA_DIR if (self.folder / DATA_DIR).is_dir() else self.folder
        self.file = base / MAIN_FILE
        self.verify = verify
        if self.metadata.get("data_format") != "hdf5":
            raise DatasetError(
                f"{base}: data_format {self.metadata.get('data_format')!r}; uio-agent reads hdf5 datasets"
            )
        if self.metadata.get("jpeg_encoding", True):
            raise DatasetError(
                f"{base}: written with JPEG encoding (lossy, segmentation corrupted); uio-agent datasets are lossless"
            )
        if METADATA_KEY not in self.metadata:
            raise DatasetError(
                f"{base}: no '{METADATA_KEY}' block in metadata.json; not written by uio-agent"
            )
        try:
            self.observation_space = deserialize_space(self.metadata["observation_space"])
            self.action_space = deserialize_space(self.metadata["action_space"])
        except (KeyError, ValueError, TypeError, NotImplementedError) as error:
            raise DatasetError(f"{base / 'metadata.json'}: unreadable spaces ({error})") from error
        self._length = int(self.metadata.get("total_episodes", -1))
        self._handle: h5py.File | None = None
        self._pid = -1
        found = len(self._open().keys())
        self.close()  # reopened on first access, in whichever process (DataLoader workers) reads
        if found != self._length:
            raise DatasetError(
                f"{self.file}: holds {found} episodes but metadata.json says {self._length}; "
                "the dataset was not finalised or was modified"
            )

    # -- file handle -------------------------------------------------------------------------------
    def _open(self) -> h5py.File:
        if self._handle is None or self._pid != os.getpid():
            try:
                self._handle = h5py.File(self.file, "r")
            except (OSError, FileNotFoundError) as error:
                raise DatasetError(
                    f"{self.file}: cannot be opened as HDF5 ({error}); the file is truncated or corrupt — "
                    "delete this dataset (or chunk) and collect it again"
                ) from error
            self._pid = os.getpid()
        return self._handle

    def close(self) -> None:
        if self._handle is not None and self._pid == os.getpid():
            self._handle.close()
        self._handle = None

    def __enter__(self) -> EpisodeDataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_handle"], state["_pid"] = None, -1
        return state

    # -- access ------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._length

    @property
    def env_names(self) -> list[str]:
        return list(self.metadata[METADATA_KEY].get("env_names", []))

    @property
    def step_info_keys(self) -> list[str]:
        """The info keys every episode keeps per step (``[]`` for VIMA datasets and format-1 datasets)."""
        return list(self.metadata[METADATA_KEY].get("step_info_keys", []))

    @property
    def total_steps(self) -> int:
        return int(self.metadata.get("total_steps", 0))

    def _index(self, index: int) -> int:
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(f"episode index {index} out of range for {self._length} episodes in {self.file}")
        return index

    def episode_info(self, index: int) -> dict[str, Any]:
        """Episode-level scalars (seed, env_name, prompt, success, failure_reason, num_steps) without
        reading any array: cheap enough to filter or index a whole dataset."""
        index = self._index(index)
        try:
            attrs = self._open()[f"episode_{index}"].attrs
            return {
                "seed": int(attrs["seed"]),
                "env_name": str(attrs["env_name"]),
                "prompt": str(attrs["prompt"]),
                "success": bool(attrs["success"]),
                "failure_reason": str(attrs["failure_reason"]) if "failure_reason" in attrs else None,
                "num_steps": int(attrs["total_steps"]),
            }
        except (OSError, KeyError, ValueError) as error:
            raise DatasetError(f"{self.file}: episode {index}: unreadable attributes ({error})") from error

    @overload
    def __getitem__(self, index: int) -> Episode: ...
    @overload
    def __getitem__(self, index: slice) -> list[Episode]: ...
    def __getitem__(self, index: int | slice) -> Episode | list[Episode]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        return self._read(self._index(index))

    def __iter__(self) -> Iterator[Episode]:
        for index in range(self._length):
            yield self._read(index)

    def _read(self, index: int) -> Episode:
        info = self.episode_info(index)
        try:
            group = self._open()[f"episode_{index}"]
            observations = _decode(group["observations"], self.observation_space)
            actions = _decode(group["actions"], self.action_space)
            infos = _decode(group["infos"], None)
            signals = {key: group[key][()] for key in ("rewards", "terminations", "truncations")}
            expected = str(group.attrs["sha256"])
        except (OSError, KeyError, ValueError, RuntimeError) as error:
            raise DatasetError(
                f"{self.file}: episode {index}: unreadable ({error}); the file is truncated or corrupt"
            ) from error
        if self.verify and layout.checksum(observations, actions, infos, signals) != expected:
            raise DatasetError(
                f"{self.file}: episode {index} (seed {info['seed']}) fails its sha256 check; the file is corrupt — "
                "delete this dataset (or chunk) and collect it again"
            )
        steps = info["num_steps"]
        try:
            meta_info, prompt_assets = layout.episode_from_infos(infos)
            return Episode(
                env_name=info["env_name"],
                seed=info["seed"],
                observations=layout.unstack(self.observation_space, observations, steps + 1),
                actions=layout.unstack(self.action_space, actions, steps),
                prompt=info["prompt"],
                prompt_assets=prompt_assets,
                meta_info=meta_info,
                success=info["success"],
                failure_reason=info["failure_reason"],
                step_infos=layout.step_infos_from(infos, steps + 1),
            )
        except (KeyError, ValueError, TypeError) as error:
            raise DatasetError(
                f"{self.file}: episode {index}: not in uio-agent's layout ({error})"
            ) from error

    def seeds(self) -> np.ndarray:
        """Every episode's seed, in order (attributes only)."""
        return np.array([self.episode_info(i)["seed"] for i in range(self._length)], dtype=np.int64)
