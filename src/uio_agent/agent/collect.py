"""Sharded, resumable, parallel collection of episodes into a Minari dataset.

**Plan.** ``episodes`` is the size of the whole collection over all shards. Attempt ``k``
(``0 <= k < episodes``) runs task ``tasks[k % len(tasks)]`` (``tabletop@L1`` expands to the level's tasks in
registry order, so tasks alternate and each gets ``episodes / len(tasks)`` attempts, ±1) with seed
``seed + k``; shard ``s`` of ``S`` takes the attempts with ``k % S == s``. Seeds are therefore disjoint
across shards, the union of all shards is exactly the unsharded collection, and every seed stays below
the evaluation seeds (which start at 1,000,000) — a plan that would reach them is refused.

**Chunks.** A shard's attempts are grouped by task and cut into chunks of ``chunk_size``; chunk ``i`` is
written as its own dataset ``out/chunks/chunk-<i>/data``, staged under a temporary name and renamed when
complete. A chunk folder without ``data/`` is a killed write and is redone.

**Resume.** ``out/collect.json`` records the options that decide the content (everything but
``workers``). Started again with the same options, a collection skips complete chunks (checking that
each holds exactly its planned seeds) and runs only the rest, so no episode is lost or duplicated;
with different options it refuses with :class:`CollectConfigError`. When every chunk is complete they
are combined into ``out/data`` (atomically) and the chunks are deleted. A lock file keeps two
processes from writing the same ``out``.

Failed episodes are dropped unless ``keep_failures``; episodes that cannot be stored at all (the reset
failed, or the policy stopped before its first action) are always dropped. Counts per reason are kept in
each chunk and in the final metadata.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from uio_agent.agent.build import build_policy
from uio_agent.agent.evaluate import EVAL_SEED_OFFSET
from uio_agent.agent.rollout import run_episodes
from uio_agent.data.episode import Episode
from uio_agent.data.errors import CollectConfigError, DatasetError
from uio_agent.data.storage import (
    DATA_DIR,
    METADATA_KEY,
    combine_datasets,
    env_spaces,
    read_metadata,
    write_dataset,
)
from uio_agent.envs.registry import expand_env_name

#: evaluation seeds start here (``agent/evaluate.py``); collection seeds stay below
EVAL_SEED_START = EVAL_SEED_OFFSET  # evaluation episodes never reuse a collection seed
CONFIG_FILE = "collect.json"
CHUNKS_DIR = "chunks"
LOCK_FILE = ".collect.lock"
#: fault injection for the kill-and-resume test: ``kill_after_chunks=N`` sends SIGKILL to this process
#: right after its N-th chunk of this run is complete
FAULT_ENV = "UIO_AGENT_COLLECT_FAULT"
#: options that do not change what is collected, so a resumed run may change them
_FREE_OPTIONS = frozenset({"workers", "out"})


@dataclass(frozen=True)
class CollectConfig:
    """What to collect; every field except ``workers`` and ``out`` decides the dataset's content."""

    env: str
    policy: str
    episodes: int
    out: str
    workers: int = 1
    shard_id: int = 0
    num_shards: int = 1
    seed: int = 0
    chunk_size: int = 50
    keep_failures: bool = False
    #: ``make_env`` options, e.g. ``{"width": 64, "height": 64}`` for small navigation frames
    env_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ValueError(f"episodes must be >= 1, got {self.episodes}")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {self.chunk_size}")
        if self.num_shards < 1 or not 0 <= self.shard_id < self.num_shards:
            raise ValueError(
                f"shard_id must be in [0, num_shards): got shard_id={self.shard_id} num_shards={self.num_shards}"
            )
        if self.seed < 0 or self.seed + self.episodes > EVAL_SEED_START:
            raise ValueError(
                f"collection seeds [{self.seed}, {self.seed + self.episodes}) must lie in [0, {EVAL_SEED_START}): "
                f"evaluation uses seeds from {EVAL_SEED_START} on; lower seed= or episodes="
            )

    def content(self) -> dict[str, Any]:
        """The options that decide the dataset (no ``env_kwargs`` when empty, as runs before it recorded)."""
        content = {k: v for k, v in asdict(self).items() if k not in _FREE_OPTIONS}
        if not content["env_kwargs"]:
            del content["env_kwargs"]
        return content


@dataclass(frozen=True)
class Attempt:
    """Collection index ``k``, its task and its seed."""

    index: int
    env_name: str
    seed: int


@dataclass
class Chunk:
    id: int
    env_name: str
    attempts: list[Attempt]

    @property
    def name(self) -> str:
        return f"chunk-{self.id:05d}"


@dataclass
class CollectSummary:
    out: str
    attempted: int = 0
    kept: int = 0
    successes: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    chunks_total: int = 0
    chunks_skipped: int = 0
    chunks_written: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        dropped = sum(self.dropped.values())
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(self.dropped.items(), key=lambda x: -x[1]))
        reused = (
            f"; {self.chunks_skipped} of {self.chunks_total} chunks reused" if self.chunks_skipped else ""
        )
        return (
            f"{self.kept} episodes kept of {self.attempted} attempted ({self.successes} successful, "
            f"{dropped} dropped{': ' + reasons if reasons else ''}){reused}; dataset in {Path(self.out) / DATA_DIR}"
        )


def plan(config: CollectConfig) -> list[Chunk]:
    """This shard's chunks, in a fixed order (a pure function of the content options)."""

    tasks = [str(name) for name in expand_env_name(config.env)]
    mine = [
        Attempt(k, tasks[k % len(tasks)], config.seed + k)
        for k in range(config.shard_id, config.episodes, config.num_shards)
    ]
    chunks: list[Chunk] = []
    for task in tasks:
        of_task = [a for a in mine if a.env_name == task]
        for start in range(0, len(of_task), config.chunk_size):
            chunks.append(Chunk(len(chunks), task, of_task[start : start + config.chunk_size]))
    return chunks


# -- files of an out folder ----------------------------------------------------------------------------
def _write_json_atomic(path: Path, value: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as handle:
        json.dump(value, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _check_config(out: Path, config: CollectConfig) -> None:
    """Record the content options on the first run; refuse a restart whose options differ."""
    path = out / CONFIG_FILE
    wanted = config.content()
    if not path.exists():
        if (out / DATA_DIR).exists() or (out / CHUNKS_DIR).exists():
            raise CollectConfigError(
                f"{out} holds a dataset or chunks but no {CONFIG_FILE}; collect into an empty folder"
            )
        _write_json_atomic(path, wanted)
        return
    try:
        recorded = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise CollectConfigError(f"{path}: unreadable ({error}); delete {out} to start over") from error
    changed = {
        k: (recorded.get(k), wanted.get(k))
        for k in set(recorded) | set(wanted)
        if recorded.get(k) != wanted.get(k)
    }
    if changed:
        details = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in sorted(changed.items()))
        raise CollectConfigError(
            f"{out} was started with other options ({details}); rerun with the original options to resume, "
            "or choose another out= folder (only workers= may change on resume)"
        )


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    handle = open(out / LOCK_FILE, "w")  # noqa: SIM115 - held for the whole collection
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise RuntimeError(
                f"{out} is being written by another collection process; wait for it or use another out="
            ) from error
        yield
    finally:
        handle.close()


def _complete_chunk(folder: Path, chunk: Chunk) -> dict[str, Any] | None:
    """The chunk's record when ``folder`` holds it complete; None when it must be (re)written."""
    if not (folder / DATA_DIR).is_dir():
        if folder.exists():
            shutil.rmtree(folder)  # a write killed before its rename
        return None
    record = read_metadata(folder).get(METADATA_KEY, {}).get("chunk")
    planned = [a.seed for a in chunk.attempts]
    if not isinstance(record, dict) or record.get("seeds") != planned:
        raise DatasetError(
            f"{folder}: holds seeds {record.get('seeds') if isinstance(record, dict) else None} but the plan "
            f"expects {planned}; the folder was modified — delete it to collect this chunk again"
        )
    return record


# -- collection ------------------------------------------------------------------------------------------
def _fault_after_chunks() -> int | None:
    spec = os.environ.get(FAULT_ENV, "")
    key, _, value = spec.partition("=")
    return int(value) if key == "kill_after_chunks" and value else None


def collect(
    env: str,
    policy: Any,
    episodes: int,
    workers: int,
    out: str | os.PathLike[str],
    shard_id: int = 0,
    num_shards: int = 1,
    seed: int = 0,
    chunk_size: int = 50,
    *,
    keep_failures: bool = False,
    oracle: bool | None = None,
    progress: bool = True,
    env_kwargs: Mapping[str, Any] | None = None,
) -> CollectSummary:
    """Collect ``episodes`` attempts (over all shards; this process runs shard ``shard_id``) of ``env``
    with ``policy`` into the dataset ``out/data``; resumable (see the module docstring).

    ``policy`` is a spec (``oracle``, ``random``, ``uio:<preset>``, a checkpoint folder) or a policy
    object; for an object, ``oracle`` says whether its environments run in oracle mode."""
    spec = policy if isinstance(policy, str) else type(policy).__name__
    config = CollectConfig(
        env=env,
        policy=spec,
        episodes=episodes,
        out=str(out),
        workers=workers,
        shard_id=shard_id,
        num_shards=num_shards,
        seed=seed,
        chunk_size=chunk_size,
        keep_failures=keep_failures,
        env_kwargs=dict(env_kwargs or {}),
    )
    started = time.monotonic()
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    summary = CollectSummary(out=str(root))
    with _locked(root):
        _check_config(root, config)
        for stale in root.glob(f".{DATA_DIR}.tmp-*"):  # a combine killed before its rename
            shutil.rmtree(stale)
        if (root / DATA_DIR).is_dir():
            shutil.rmtree(root / CHUNKS_DIR, ignore_errors=True)  # killed after the final rename
            return _finished(root, summary, started, note="already complete")
        chunks = plan(config)
        summary.chunks_total = len(chunks)
        chunk_root = root / CHUNKS_DIR
        chunk_root.mkdir(exist_ok=True)
        todo: list[Chunk] = []
        for chunk in chunks:
            record = _complete_chunk(chunk_root / chunk.name, chunk)
            if record is None:
                todo.append(chunk)
            else:
                summary.chunks_skipped += 1
                _count(summary, record)
        if isinstance(policy, str):
            policy_obj, oracle_mode = build_policy(policy, env, env_kwargs=config.env_kwargs)
        else:
            policy_obj, oracle_mode = policy, bool(oracle)
        kill_after = _fault_after_chunks()
        total_attempts = sum(len(c.attempts) for c in chunks)
        with tqdm(
            total=total_attempts,
            initial=summary.attempted,
            desc=f"collect {env} shard {shard_id}/{num_shards}",
            unit="ep",
            disable=not progress,
            file=sys.stderr,
        ) as bar:
            for task in dict.fromkeys(c.env_name for c in todo):
                pending = {c.id: c for c in todo if c.env_name == task}
                owner = {a.seed: c.id for c in pending.values() for a in c.attempts}
                done: dict[int, dict[int, Any]] = {cid: {} for cid in pending}
                seeds = [a.seed for c in pending.values() for a in c.attempts]
                for result in run_episodes(
                    task,
                    policy_obj,
                    seeds,
                    workers=workers,
                    oracle=oracle_mode,
                    record_trajectories=True,
                    env_kwargs=config.env_kwargs,
                ):
                    cid = owner[result.seed]
                    done[cid][result.seed] = result
                    bar.update(1)
                    if len(done[cid]) == len(pending[cid].attempts):
                        record = _write_chunk(
                            chunk_root / pending[cid].name, pending[cid], done.pop(cid), config
                        )
                        _count(summary, record)
                        summary.chunks_written += 1
                        bar.set_postfix(kept=summary.kept, dropped=sum(summary.dropped.values()))
                        if kill_after is not None and summary.chunks_written >= kill_after:
                            os.kill(os.getpid(), signal.SIGKILL)
        sources = [chunk_root / c.name for c in chunks]
        combine_datasets(
            sources,
            root,
            order=_index_order(sources),
            metadata={
                "collection": config.content() | {"workers": workers},
                "counts": _counts(summary),
                "seeds": {
                    "first": seed,
                    "stop": seed + episodes,
                    "rule": "seed + k, k % num_shards == shard_id",
                },
            },
        )
        shutil.rmtree(chunk_root, ignore_errors=True)
    summary.seconds = time.monotonic() - started
    return summary


def _index_order(sources: list[Path]) -> list[tuple[int, int]]:
    """``(chunk position, episode)`` pairs sorted by collection index: the final dataset is in collection
    order (tasks interleaved), whatever the chunking, so its first N episodes are a balanced mix."""
    keyed = []
    for position, folder in enumerate(sources):
        record = read_metadata(folder)[METADATA_KEY]["chunk"]
        keyed += [(k, position, i) for i, k in enumerate(record["kept_indices"])]
    return [(position, i) for _, position, i in sorted(keyed)]


def _write_chunk(
    folder: Path, chunk: Chunk, results: Mapping[int, Any], config: CollectConfig
) -> dict[str, Any]:
    """Write one chunk's kept episodes (in plan order) and return its record."""
    kept: list[Episode] = []
    kept_indices: list[int] = []
    dropped: Counter[str] = Counter()
    successes = 0
    for attempt in chunk.attempts:
        result = results[attempt.seed]
        reason = _drop_reason(result, config.keep_failures)
        if reason is not None:
            dropped[reason] += 1
            continue
        kept.append(
            Episode.from_trajectory(
                attempt.env_name,
                attempt.seed,
                result.trajectory,
                success=result.success,
                failure_reason=result.failure_reason,
            )
        )
        kept_indices.append(attempt.index)
        successes += int(result.success)
    record = {
        "id": chunk.id,
        "env_name": chunk.env_name,
        "indices": [a.index for a in chunk.attempts],
        "seeds": [a.seed for a in chunk.attempts],
        "kept": len(kept),
        "kept_indices": kept_indices,
        "successes": successes,
        "dropped": dict(dropped),
    }
    obs_space, act_space = env_spaces(chunk.env_name, config.env_kwargs)
    write_dataset(
        kept,
        folder,
        observation_space=obs_space,
        action_space=act_space,
        metadata={"chunk": record, "collection": config.content()},
    )
    return record


def _drop_reason(result: Any, keep_failures: bool) -> str | None:
    trajectory = result.trajectory or {}
    if not trajectory.get("observations"):
        return f"unstorable (reset failed: {result.failure_reason})"
    if not trajectory.get("actions"):
        return f"unstorable (no action: {result.failure_reason})"
    if not result.success and not keep_failures:
        return f"failed ({result.failure_reason})"
    return None


def _count(summary: CollectSummary, record: Mapping[str, Any]) -> None:
    summary.attempted += len(record["seeds"])
    summary.kept += int(record["kept"])
    summary.successes += int(record["successes"])
    for reason, n in record["dropped"].items():
        summary.dropped[reason] = summary.dropped.get(reason, 0) + int(n)


def _counts(summary: CollectSummary) -> dict[str, Any]:
    return {
        "attempted": summary.attempted,
        "kept": summary.kept,
        "successes": summary.successes,
        "dropped": summary.dropped,
    }


def _finished(root: Path, summary: CollectSummary, started: float, note: str) -> CollectSummary:
    counts = read_metadata(root).get(METADATA_KEY, {}).get("counts", {})
    summary.attempted = int(counts.get("attempted", 0))
    summary.kept = int(counts.get("kept", 0))
    summary.successes = int(counts.get("successes", 0))
    summary.dropped = dict(counts.get("dropped", {}))
    summary.seconds = time.monotonic() - started
    print(f"collect: {root} is {note}", file=sys.stderr)
    return summary


def collect_main(options: Mapping[str, Any]) -> int:
    """``uio-agent collect key=value ...`` with the composed ``configs/collect.yaml``."""
    summary = collect(
        env=str(options["env"]),
        policy=str(options["policy"]),
        episodes=int(options["episodes"]),
        workers=int(options["workers"]),
        out=str(options["out"]),
        shard_id=int(options["shard_id"]),
        num_shards=int(options["num_shards"]),
        seed=int(options["seed"]),
        chunk_size=int(options["chunk_size"]),
        keep_failures=bool(options["keep_failures"]),
        env_kwargs=dict(options.get("env_kwargs") or {}),
    )
    print(f"collect: {summary.line()} ({summary.seconds:.1f} s)")
    return 0
