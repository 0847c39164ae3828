"""Collection: seeds and shards, oracle demos with 1 and 2 workers, failures, kill-and-resume."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from dataset_fixtures import assert_same_episode

from uio_agent.agent.collect import EVAL_SEED_START, FAULT_ENV, CollectConfig, collect, plan
from uio_agent.data.errors import CollectConfigError
from uio_agent.data.reader import EpisodeDataset
from uio_agent.envs.registry import expand_env_name

ENV = "tabletop/visual_manipulation@L1"


def _config(**kwargs: object) -> CollectConfig:
    options: dict = {
        "env": "tabletop@L1",
        "policy": "oracle",
        "episodes": 23,
        "out": "unused",
        "chunk_size": 4,
    }
    options.update(kwargs)
    return CollectConfig(**options)


def test_shards_are_disjoint_and_cover_the_collection() -> None:
    whole = [a for c in plan(_config()) for a in c.attempts]
    shards = [[a for c in plan(_config(shard_id=s, num_shards=3)) for a in c.attempts] for s in range(3)]
    seeds = [{a.seed for a in shard} for shard in shards]
    assert not (seeds[0] & seeds[1] or seeds[0] & seeds[2] or seeds[1] & seeds[2])
    assert set().union(*seeds) == {a.seed for a in whole} == set(range(23))
    assert sorted((a.index, a.env_name, a.seed) for shard in shards for a in shard) == sorted(
        (a.index, a.env_name, a.seed) for a in whole
    )
    # tabletop@L1 alternates the level's tasks by collection index; chunks never mix tasks
    tasks = [str(name) for name in expand_env_name("tabletop@L1")]
    assert len(tasks) >= 2 and all(a.env_name == tasks[a.index % len(tasks)] for a in whole)
    for chunk in plan(_config()):
        assert {a.env_name for a in chunk.attempts} == {chunk.env_name} and len(chunk.attempts) <= 4
    counts = [sum(a.env_name == t for a in whole) for t in tasks]
    assert max(counts) - min(counts) <= 1


def test_invalid_options_are_refused() -> None:
    from uio_agent.agent.evaluate import EVAL_SEED_OFFSET

    assert EVAL_SEED_START == EVAL_SEED_OFFSET  # collection and evaluation seeds stay disjoint
    with pytest.raises(ValueError, match="evaluation uses seeds"):
        _config(seed=EVAL_SEED_START - 10, episodes=11)
    with pytest.raises(ValueError, match="shard_id"):
        _config(shard_id=2, num_shards=2)


def test_oracle_collection_with_one_and_two_workers(tmp_path: Path) -> None:
    one = collect(ENV, "oracle", 3, 1, tmp_path / "one", chunk_size=2, progress=False)
    two = collect(ENV, "oracle", 3, 2, tmp_path / "two", chunk_size=2, progress=False)
    assert (one.attempted, one.kept, one.successes, one.chunks_written) == (3, 3, 3, 2)
    assert (two.kept, two.chunks_written) == (3, 2)
    a, b = EpisodeDataset(tmp_path / "one"), EpisodeDataset(tmp_path / "two")
    assert a.seeds().tolist() == b.seeds().tolist() == [0, 1, 2]
    for x, y in zip(a, b, strict=True):
        assert_same_episode(x, y)  # deterministic per seed, whatever the worker count
    episode = a[0]
    assert episode.success and episode.prompt and episode.prompt_assets
    assert episode.num_steps >= 1 and len(episode.observations) == episode.num_steps + 1
    assert all(isinstance(k, int) for k in episode.meta_info["obj_id_to_info"])
    assert not (tmp_path / "one" / "chunks").exists()
    counts = a.metadata["uio_agent"]["counts"]
    assert counts == {"attempted": 3, "kept": 3, "successes": 3, "dropped": {}}
    # finished: a rerun (workers may change) does nothing; other options are refused
    again = collect(ENV, "oracle", 3, 2, tmp_path / "one", chunk_size=2, progress=False)
    assert again.chunks_written == 0 and again.kept == 3
    with pytest.raises(CollectConfigError, match=r"episodes: 3 -> 4"):
        collect(ENV, "oracle", 4, 1, tmp_path / "one", chunk_size=2, progress=False)


def test_failures_are_dropped_or_kept_and_counted(tmp_path: Path) -> None:
    dropped = collect(ENV, "random", 2, 1, tmp_path / "drop", seed=100, progress=False)
    kept = collect(ENV, "random", 2, 1, tmp_path / "keep", seed=100, keep_failures=True, progress=False)
    failures = 2 - dropped.successes
    assert failures >= 1  # a random policy almost never succeeds
    assert dropped.kept == dropped.successes and sum(dropped.dropped.values()) == failures
    assert kept.kept == 2 and kept.successes == dropped.successes
    assert len(EpisodeDataset(tmp_path / "drop")) == dropped.kept  # possibly an empty dataset
    episodes = list(EpisodeDataset(tmp_path / "keep"))
    assert [e.seed for e in episodes] == [100, 101]
    assert all(e.failure_reason for e in episodes if not e.success)


_RUN = """
import sys
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf
from uio_agent.agent.collect import collect_main
if __name__ == "__main__":
    with initialize_config_module(config_module="uio_agent.configs", version_base=None):
        cfg = compose(config_name="collect", overrides=sys.argv[1:])
    raise SystemExit(collect_main(OmegaConf.to_container(cfg, resolve=True)))
"""


def test_killed_collection_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    out = tmp_path / "run"
    script = tmp_path / "run_collect.py"
    script.write_text(_RUN)
    # tabletop@L1: attempts alternate between the level's tasks, chunks hold one task each
    args = [
        sys.executable,
        str(script),
        "env=tabletop@L1",
        "episodes=5",
        "chunk_size=2",
        "workers=1",
        f"out={out}",
    ]
    env = {**os.environ, FAULT_ENV: "kill_after_chunks=1"}
    first = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == -signal.SIGKILL, first.stderr[-2000:]
    chunks = sorted(p.name for p in (out / "chunks").iterdir())
    assert (out / "chunks" / "chunk-00000" / "data").is_dir() and not (out / "data").exists()
    # a write killed before its rename leaves a staging folder: it must be redone, not read
    (out / "chunks" / "chunk-00001" / ".data.tmp-1-dead").mkdir(parents=True)
    assert "chunk-00000" in chunks
    clean = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    second = subprocess.run(args, env=clean, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr[-2000:]
    tasks = [str(name) for name in expand_env_name("tabletop@L1")]
    per_task = [sum(1 for k in range(5) if k % len(tasks) == t) for t in range(len(tasks))]
    chunks_total = sum(math.ceil(n / 2) for n in per_task)
    summary = f"5 episodes kept of 5 attempted (5 successful, 0 dropped); 1 of {chunks_total} chunks reused"
    assert summary in second.stdout
    dataset = EpisodeDataset(out)
    assert dataset.seeds().tolist() == [0, 1, 2, 3, 4]  # each seed exactly once, in collection order
    assert [dataset.episode_info(i)["env_name"] for i in range(5)] == [
        tasks[k % len(tasks)] for k in range(5)
    ]
    assert not (out / "chunks").exists()


def test_env_kwargs_reach_the_environments_and_belong_to_the_content(tmp_path: Path) -> None:
    small = {"width": 32, "height": 24}
    summary = collect("pointnav/procedural", "oracle", 2, 1, tmp_path, progress=False, env_kwargs=small)
    assert summary.kept == 2
    episode = EpisodeDataset(tmp_path)[0]
    assert episode.observations[0]["rgb"].shape == (24, 32, 3)
    with pytest.raises(CollectConfigError, match=r"env_kwargs: \{'height': 24, 'width': 32\} -> None"):
        collect("pointnav/procedural", "oracle", 2, 1, tmp_path, progress=False)
