"""Write episodes as a Minari dataset (hdf5 backend), atomically; combine datasets into one.

A dataset is a folder holding ``data/metadata.json`` and ``data/main_data.hdf5`` — the layout of a
Minari dataset directory, so ``minari.MinariDataset(folder / "data")`` reads it. Episodes go through
:class:`minari.data_collector.EpisodeBuffer` and :class:`minari.dataset.minari_storage.MinariStorage`
(what ``minari.create_dataset_from_buffers`` calls inside). We call the storage directly because
``create_dataset_from_buffers`` only writes under ``$MINARI_DATASETS_PATH`` or ``~/.minari``, and
this project writes where ``out=`` says, never in the home directory. ``DataCollector`` is not used:
its per-step path imports jax.

Nothing is JPEG-encoded (segmentation maps look like images to Minari and would be corrupted).
``data/`` is built under a temporary name beside it and renamed into place when complete, so a
reader never sees a half-written dataset.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import re
import shutil
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gymnasium as gym
import h5py
import numpy as np
from minari.data_collector import EpisodeBuffer
from minari.dataset.minari_storage import MinariStorage

from uio_agent.data import layout
from uio_agent.data.episode import Episode
from uio_agent.data.errors import DatasetError

#: version of the layout described in :mod:`uio_agent.data.layout` (2 added ``infos/steps``; format-1
#: datasets read as episodes without per-step infos)
FORMAT_VERSION = 2
#: key of our block in Minari's ``metadata.json``
METADATA_KEY = "uio_agent"
DATA_DIR = "data"
METADATA_FILE = "metadata.json"
MAIN_FILE = "main_data.hdf5"
_DATASET_ID_RE = re.compile(r"^[-_\w]+?-v\d+$")


def versions() -> dict[str, str]:
    """Versions of the packages that shape a dataset's content and format."""
    out = {}
    for package in ("uio-agent", "minari", "numpy", "h5py", "gymnasium", "mujoco"):
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


def env_spaces(
    env_name: str, env_kwargs: Mapping[str, Any] | None = None
) -> tuple[gym.Space[Any], gym.Space[Any]]:
    """``(observation_space, action_space)`` of one environment built with ``env_kwargs`` (cached)."""
    return _env_spaces(env_name, json.dumps(dict(env_kwargs or {}), sort_keys=True))


@functools.lru_cache(maxsize=32)
def _env_spaces(env_name: str, env_kwargs_json: str) -> tuple[gym.Space[Any], gym.Space[Any]]:
    from uio_agent.envs.registry import make_env

    env = make_env(env_name, **json.loads(env_kwargs_json))
    try:
        return env.observation_space, env.action_space
    finally:
        env.close()


def dataset_id_for(folder: Path) -> str:
    """Minari's ``dataset_id`` (``name-vN``) from the folder name, so that
    ``MINARI_DATASETS_PATH=<parent> minari.load_dataset(<folder name>)`` works when the name has a ``-vN``."""
    name = re.sub(r"[^-_\w]", "_", folder.name) or "dataset"
    return name if _DATASET_ID_RE.match(name) else f"{name}-v0"


def data_dir(folder: str | os.PathLike[str]) -> Path:
    return Path(folder) / DATA_DIR


@contextmanager
def _staged_data_dir(folder: Path) -> Iterator[Path]:
    """A fresh temporary data folder beside ``folder/data``, renamed into place on success."""
    final = data_dir(folder)
    if final.exists():
        raise FileExistsError(f"{final} already exists; remove it or write the dataset to another folder")
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / f".{DATA_DIR}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        yield staging
        _fsync_tree(staging)
        os.rename(staging, final)
        _fsync_dir(folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _fsync_tree(path: Path) -> None:
    for child in path.iterdir():
        if child.is_file():
            with open(child, "rb+") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _new_storage(
    path: Path, observation_space: gym.Space[Any], action_space: gym.Space[Any]
) -> MinariStorage:
    return MinariStorage.new(
        path,
        observation_space=observation_space,
        action_space=action_space,
        data_format="hdf5",
        jpeg_encoding=False,
    )


def _standard_metadata(folder: Path, extra: Mapping[str, Any]) -> dict[str, Any]:
    from minari import __version__ as minari_version

    return {
        "dataset_id": dataset_id_for(folder),
        "minari_version": minari_version,
        "author": {"uio-agent"},
        "algorithm_name": str(extra.get("collection", {}).get("policy", "unknown")),
        "description": "uio-agent trajectories: per-episode prompt, prompt assets (arrays + mask), "
        "seed, env name and meta_info; layout in docs/datasets.md",
    }


def _buffer(
    episode: Episode, obs_space: gym.Space[Any], act_space: gym.Space[Any]
) -> tuple[EpisodeBuffer, str]:
    """The Minari buffer of one episode and the checksum of everything it stores."""
    if episode.num_steps == 0:
        raise ValueError(
            f"episode {episode.env_name} seed {episode.seed} has no actions; Minari stores at least one step "
            "per episode (drop such episodes before writing)"
        )
    where = f"episode {episode.env_name} seed {episode.seed}"
    observations = layout.stack(obs_space, episode.observations, f"{where}: observations")
    actions = layout.stack(act_space, episode.actions, f"{where}: actions")
    infos = layout.episode_infos(episode)
    signals = layout.step_signals(episode)
    digest = layout.checksum(observations, actions, infos, signals)
    buffer = EpisodeBuffer(
        seed=int(episode.seed),
        observations=observations,
        actions=actions,
        rewards=list(signals["rewards"]),
        terminations=list(signals["terminations"]),
        truncations=list(signals["truncations"]),
        infos=infos,
    )
    return buffer, digest


def write_dataset(
    episodes: Iterable[Episode],
    folder: str | os.PathLike[str],
    *,
    observation_space: gym.Space[Any] | None = None,
    action_space: gym.Space[Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    batch_size: int = 8,
) -> int:
    """Write ``episodes`` (any iterable, consumed in batches of ``batch_size``, so memory stays at one
    batch) as the Minari dataset ``folder/data``; return the number of episodes written.

    Spaces default to those of the first episode's environment. ``metadata`` is stored under
    ``metadata.json["uio_agent"]`` next to the environment names and package versions."""
    # absolute: minari 0.5.4 sizes a relative data folder by joining the path with itself
    folder = Path(folder).absolute()
    env_names: set[str] = set()
    step_info_keys: set[tuple[str, ...]] = set()
    total = 0
    with _staged_data_dir(folder) as staging:
        storage: MinariStorage | None = None
        iterator = iter(episodes)
        while True:
            batch = [ep for _, ep in zip(range(batch_size), iterator, strict=False)]
            if not batch:
                break
            if storage is None:
                if observation_space is None or action_space is None:
                    default_obs, default_act = env_spaces(batch[0].env_name)
                    observation_space = observation_space or default_obs
                    action_space = action_space or default_act
                storage = _new_storage(staging, observation_space, action_space)
            assert observation_space is not None and action_space is not None
            buffers, attributes = [], []
            for episode in batch:
                buffer, digest = _buffer(episode, observation_space, action_space)
                buffers.append(buffer)
                attributes.append({**layout.episode_attributes(episode), "sha256": digest})
                env_names.add(episode.env_name)
                step_info_keys.add(tuple(sorted(episode.step_infos[0])) if episode.step_infos else ())
                if len(step_info_keys) > 1:
                    raise ValueError(
                        f"{folder}: episodes keep different per-step info keys {sorted(step_info_keys)} "
                        f"(episode {episode.env_name} seed {episode.seed}); write them to separate datasets"
                    )
            storage.update_episodes(buffers)
            storage.update_episode_metadata(attributes, range(total, total + len(batch)))
            total += len(batch)
        if storage is None:
            if observation_space is None or action_space is None:
                raise ValueError(
                    f"{folder}: no episodes to write and no spaces given; pass observation_space and "
                    "action_space to write an empty dataset"
                )
            storage = _new_storage(staging, observation_space, action_space)
            h5py.File(
                staging / MAIN_FILE, "w"
            ).close()  # Minari leaves an empty (non-HDF5) file until episodes come
        block = {
            "format_version": FORMAT_VERSION,
            "env_names": sorted(env_names),
            "step_info_keys": list(next(iter(step_info_keys), ())),
            "versions": versions(),
            **dict(metadata or {}),
        }
        storage.update_metadata({**_standard_metadata(folder, block), METADATA_KEY: _json_ready(block)})
    return total


def _json_ready(value: Any) -> Any:
    """Fail early (with the key) on metadata JSON cannot hold, instead of a half-written file."""
    try:
        return json.loads(json.dumps(value))
    except TypeError as error:
        raise TypeError(f"dataset metadata must be JSON-serialisable: {error}") from error


def read_metadata(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The raw ``metadata.json`` of the dataset in ``folder`` (or of ``folder`` itself when it is the
    ``data`` folder), with a clear error when it is missing or corrupt."""
    path = Path(folder)
    candidates = [path / DATA_DIR / METADATA_FILE, path / METADATA_FILE]
    file = next((c for c in candidates if c.is_file()), None)
    if file is None:
        raise DatasetError(
            f"{path}: no Minari dataset here (expected {candidates[0]}); is the path right and the collection finished?"
        )
    try:
        metadata = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetError(
            f"{file}: unreadable dataset metadata ({error}); the file is truncated or corrupt"
        ) from error
    if not isinstance(metadata, dict):
        raise DatasetError(f"{file}: dataset metadata is not a JSON object; the file is corrupt")
    return metadata


def combine_datasets(
    sources: Sequence[str | os.PathLike[str]],
    folder: str | os.PathLike[str],
    *,
    metadata: Mapping[str, Any] | None = None,
    order: Sequence[tuple[int, int]] | None = None,
) -> int:
    """Combine the episodes of ``sources`` into the new dataset ``folder``: all of them, source after
    source, or exactly the ``(source position, episode index)`` pairs of ``order``.

    Episode groups are copied byte for byte with HDF5's own copy (no decoding, constant memory); the
    sources must share observation and action spaces. Returns the number of episodes."""
    from minari.serialization import deserialize_space

    folder = Path(folder)
    if not sources:
        raise ValueError("combine_datasets: no source datasets given")
    source_meta = [read_metadata(src) for src in sources]
    first = source_meta[0]
    for src, meta in zip(sources, source_meta, strict=True):
        for key in ("observation_space", "action_space"):
            if meta.get(key) != first.get(key):
                raise DatasetError(
                    f"{src}: its {key} differs from that of {sources[0]}; only datasets of the same spaces combine"
                )
        if meta.get("jpeg_encoding", True) or meta.get("data_format") != "hdf5":
            raise DatasetError(f"{src}: not a lossless hdf5 dataset written by uio-agent; cannot combine it")
    if order is None:
        order = [(s, i) for s, meta in enumerate(source_meta) for i in range(int(meta["total_episodes"]))]
    env_names = sorted({n for meta in source_meta for n in meta.get(METADATA_KEY, {}).get("env_names", [])})
    # sources without episodes (a chunk whose every attempt was dropped) have nothing to agree on
    kept_keys = {
        str(src): meta.get(METADATA_KEY, {}).get("step_info_keys", [])
        for src, meta in zip(sources, source_meta, strict=True)
        if int(meta.get("total_episodes", 0)) > 0
    }
    step_info_keys: list[str] = next(iter(kept_keys.values()), [])
    for src, keys in kept_keys.items():
        if keys != step_info_keys:
            raise DatasetError(
                f"{src}: keeps per-step infos {keys} but another source keeps {step_info_keys}; only "
                "datasets that keep the same per-step infos combine"
            )
    total_episodes = total_steps = 0
    with _staged_data_dir(folder) as staging:
        storage = _new_storage(
            staging, deserialize_space(first["observation_space"]), deserialize_space(first["action_space"])
        )
        with (
            _SourceFiles([_main_file(Path(src)) for src in sources]) as files,
            h5py.File(staging / MAIN_FILE, "w", track_order=True) as target,
        ):
            for position, index in order:
                source, file = files.get(position)
                name = f"episode_{total_episodes}"
                try:
                    source.copy(source[f"episode_{index}"], target, name=name)
                except (OSError, KeyError) as error:
                    raise DatasetError(
                        f"{file}: cannot copy episode {index} ({error}); the file is truncated or corrupt"
                    ) from error
                target[name].attrs["id"] = total_episodes
                total_steps += int(np.asarray(target[name].attrs["total_steps"]))
                total_episodes += 1
        block = {
            "format_version": FORMAT_VERSION,
            "env_names": env_names,
            "step_info_keys": step_info_keys,
            "versions": versions(),
            **dict(metadata or {}),
        }
        storage.update_metadata(
            {
                "total_episodes": total_episodes,
                "total_steps": total_steps,
                **_standard_metadata(folder, block),
                METADATA_KEY: _json_ready(block),
            }
        )
    return total_episodes


class _SourceFiles:
    """Source HDF5 files opened on demand, at most ``limit`` at once (least recently used closed)."""

    def __init__(self, paths: Sequence[Path], limit: int = 32) -> None:
        self.paths, self.limit = paths, limit
        self.open: OrderedDict[int, h5py.File] = OrderedDict()

    def get(self, position: int) -> tuple[h5py.File, Path]:
        path = self.paths[position]
        if position in self.open:
            self.open.move_to_end(position)
        else:
            if len(self.open) >= self.limit:
                self.open.popitem(last=False)[1].close()
            try:
                self.open[position] = h5py.File(path, "r")
            except OSError as error:
                raise DatasetError(
                    f"{path}: cannot be opened as HDF5 ({error}); the file is truncated or corrupt"
                ) from error
        return self.open[position], path

    def __enter__(self) -> _SourceFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self.open.values():
            handle.close()
        self.open.clear()


def _main_file(folder: Path) -> Path:
    for candidate in (folder / DATA_DIR / MAIN_FILE, folder / MAIN_FILE):
        if candidate.is_file():
            return candidate
    raise DatasetError(f"{folder}: no {MAIN_FILE} found (expected {folder / DATA_DIR / MAIN_FILE})")
