"""Navigation training: an example is exactly what the policy feeds the model at that step; a few steps
on tiny oracle datasets lower the loss and give a checkpoint that loads as a navigation policy and acts."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from nav_fixtures import ENV_KWARGS, OBJECTNAV, POINTNAV, collect_oracle_dataset

from uio_agent.agent.build import build_policy
from uio_agent.agent.nav_policy import UIONavPolicy, UIOObjectNavPolicy
from uio_agent.agent.rollout import run_episodes
from uio_agent.cli import main
from uio_agent.codecs.families import FamilyMixError
from uio_agent.codecs.navigation import NavCodecConfig
from uio_agent.codecs.pointnav import PointNavCodec
from uio_agent.codecs.prompts import NEXT_ACTION_PHRASES
from uio_agent.data.episode import Episode
from uio_agent.data.errors import DatasetError
from uio_agent.data.storage import write_dataset
from uio_agent.envs import make_env
from uio_agent.model import PreprocessConfig, UIOConfig, UIOModel
from uio_agent.model.batch import ModelInputs
from uio_agent.train.families import load_episodes
from uio_agent.train.loop import TrainConfig, Trainer
from uio_agent.train.nav_examples import MissingStepInfoError, NavExampleBuilder

POLICIES = {POINTNAV: UIONavPolicy, OBJECTNAV: UIOObjectNavPolicy}
TINY = UIOConfig.preset("tiny")


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("nav")
    return {name: collect_oracle_dataset(name, [0, 1, 2, 3], root / name.split("/")[0]) for name in POLICIES}


class EvaluationPhrase(random.Random):
    """An RNG whose choices are the policy's fixed next-action phrase (training samples it)."""

    def choice(self, seq: Any) -> Any:
        assert list(seq) == list(NEXT_ACTION_PHRASES)
        return NEXT_ACTION_PHRASES[NavCodecConfig().phrase]


def policy_inputs(
    policy: UIONavPolicy, env_name: str, episode: Episode, monkeypatch: pytest.MonkeyPatch
) -> list[ModelInputs]:
    """What ``policy`` feeds the model at each step of ``episode``, replayed in a live environment (its
    outputs are forced to the recorded actions, so its history is the episode's)."""
    fed: list[ModelInputs] = []

    def generate(frames: Sequence[np.ndarray], texts: Sequence[str], states: Sequence[Any]) -> list[str]:
        fed.append(policy.model_inputs(frames, texts, states))
        return [policy.codec.action_text(episode.actions[len(fed) - 1])]

    monkeypatch.setattr(policy, "_generate", generate)
    env = make_env(env_name, **ENV_KWARGS[env_name])
    obs, info = env.reset(seed=episode.seed, options={"oracle": True})
    state = policy.initial_state({**info, "episode_seed": episode.seed})
    for k in range(episode.num_steps):
        np.testing.assert_array_equal(obs["rgb"], episode.observations[k]["rgb"])
        (action,), (state,) = policy.act_batch([obs], [info], [state])
        assert action == episode.actions[k]
        obs, _, _, _, info = env.step(action)
    env.close()
    return fed


@pytest.mark.parametrize("env_name", [POINTNAV, OBJECTNAV])
def test_an_example_is_what_the_policy_feeds_the_model_at_that_step(
    env_name: str, datasets: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    episodes = load_episodes(str(datasets[env_name]))
    episode = min((e for e in episodes if e.num_steps > 5), key=lambda e: e.num_steps)
    policy_class = POLICIES[env_name]
    torch.manual_seed(0)
    codec = policy_class.codec_class(
        preprocess=PreprocessConfig.from_model_config(TINY), config=NavCodecConfig(history_frames=3)
    )
    policy = policy_class(UIOModel(TINY), codec)
    builder = NavExampleBuilder(codec)
    for t, fed in enumerate(policy_inputs(policy, env_name, episode, monkeypatch)):
        example = builder.build(episode, EvaluationPhrase(), t)
        assert example.target_ids == codec.tokenizer.encode(codec.action_text(episode.actions[t]))
        assert torch.equal(example.inputs.text_tokens, fed.text_tokens), t
        for name in ("image_patches", "image_mask", "image_pos_ids"):
            assert torch.equal(getattr(example.inputs, name), getattr(fed, name)), (t, name)
        frames = min(t, 3)
        assert (fed.image_history_features is None) == (frames == 0)
        if frames:
            assert example.inputs.image_history_patches.shape[1] == frames
            # the history frames as patches give the encoder what the policy's cached embeddings give
            ours, theirs = policy.model.embed_inputs(example.inputs), policy.model.embed_inputs(fed)
            assert torch.equal(ours.mask, theirs.mask)
            torch.testing.assert_close(ours.embed, theirs.embed, rtol=0, atol=1e-5)
    # training samples the phrase, and t uniformly over the steps
    texts = [
        codec.tokenizer.decode(builder.build(episode, random.Random(s)).inputs.text_tokens[0].tolist())
        for s in range(40)
    ]
    assert len({p for p in NEXT_ACTION_PHRASES for text in texts if text.startswith(f"[Text] [S] {p} ")}) > 5
    steps = [builder.choose_step(episode, random.Random(s)) for s in range(2000)]
    assert set(steps) == set(range(episode.num_steps))


def test_the_frame_cache_is_bounded_and_changes_no_example(datasets: dict[str, Path]) -> None:
    episode = load_episodes(str(datasets[POINTNAV]))[0]
    codec = PointNavCodec(preprocess=PreprocessConfig.from_model_config(TINY))
    bounded, uncached = NavExampleBuilder(codec, cache_mb=0.2), NavExampleBuilder(codec, cache_mb=0)
    for t in range(episode.num_steps):
        a, b = bounded.build(episode, random.Random(t), t), uncached.build(episode, random.Random(t), t)
        assert torch.equal(a.inputs.text_tokens, b.inputs.text_tokens)
        assert torch.equal(a.inputs.image_patches, b.inputs.image_patches)
        if t:
            assert torch.equal(a.inputs.image_history_patches, b.inputs.image_history_patches)
    assert 0 < bounded._cached_bytes <= bounded.cache_bytes and len(bounded._cache) < 4
    assert len(uncached._cache) == 0


def losses(folder: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (folder / "metrics.jsonl").read_text().splitlines()]


def train_config(out: Path, **overrides: object) -> TrainConfig:
    base: dict[str, object] = dict(
        out=str(out),
        preset="tiny",
        codec={"history_frames": 2},
        steps=12,
        batch_size=8,
        warmup=2,
        log_every=1,
        checkpoint_every=12,
        precision="fp32",
        lr=3e-3,
    )
    return TrainConfig(**{**base, **overrides})  # type: ignore[arg-type]


@pytest.mark.parametrize("env_name", [POINTNAV, OBJECTNAV])
def test_nav_training_lowers_the_loss_and_the_checkpoint_plays(
    env_name: str, datasets: dict[str, Path], tmp_path: Path
) -> None:
    final = Trainer(train_config(tmp_path), load_episodes(str(datasets[env_name]))).run()
    curve = losses(tmp_path)
    assert np.mean(curve[-5:]) < 0.5 * np.mean(curve[:3]), curve
    assert json.loads((final / "codec.json").read_text()) == {
        "family": env_name.split("/")[0],
        "phrase": 0,
        "history_frames": 2,
    }
    policy, _ = build_policy(str(final), env_name)
    assert type(policy) is POLICIES[env_name]
    assert isinstance(POLICIES[env_name].from_pretrained(final), POLICIES[env_name])
    kwargs = {**ENV_KWARGS[env_name], "max_episode_steps": 4}
    (result,) = run_episodes(env_name, policy, [1_000_000], env_kwargs=kwargs)
    assert result.steps >= 1 and result.plans == result.steps, result.failure_reason


def test_runs_that_cannot_train_are_refused(datasets: dict[str, Path], tmp_path: Path) -> None:
    pointnav = load_episodes(str(datasets[POINTNAV]))
    objectnav = load_episodes(str(datasets[OBJECTNAV]))
    with pytest.raises(
        FamilyMixError, match="objectnav: objectnav/procedural; pointnav: pointnav/procedural"
    ):
        Trainer(train_config(tmp_path), pointnav + objectnav)
    with pytest.raises(ValueError, match=r"history_frames=4 exceeds the model's image_history\.max_frames=2"):
        Trainer(train_config(tmp_path, model={"image_history": {"max_frames": 2}}, codec={}), pointnav)
    with pytest.raises(FamilyMixError, match="datasets"):
        load_episodes([str(datasets[POINTNAV]), str(datasets[OBJECTNAV])])
    # an episode (or a dataset written before format 2) without per-step poses: a clear error
    bare = [Episode(e.env_name, e.seed, e.observations, e.actions, success=True) for e in pointnav]
    with pytest.raises(MissingStepInfoError, match=r"pointnav/procedural seed \d+ has no per-step info"):
        Trainer(train_config(tmp_path), bare)
    env = make_env(POINTNAV, **ENV_KWARGS[POINTNAV])
    write_dataset(
        bare, tmp_path / "old", observation_space=env.observation_space, action_space=env.action_space
    )
    with pytest.raises(DatasetError, match=r"old/data/main_data\.hdf5: keeps no per-step \['agent_position'"):
        load_episodes(str(tmp_path / "old"))


def test_uio_agent_train_on_a_navigation_dataset(datasets: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["preset=tiny", "steps=2", "batch_size=2", "warmup=1", "precision=fp32", "+codec.history_frames=1"]
    assert main(["train", f"dataset={datasets[POINTNAV]}", f"out={out}", *args]) == 0
    final = out / "checkpoints" / (out / "final").read_text()
    assert json.loads((final / "codec.json").read_text())["family"] == "pointnav"
    with pytest.raises(ValueError, match="unknown NavCodecConfig fields"):
        main(["train", f"dataset={datasets[POINTNAV]}", f"out={tmp_path / 'bad'}", "+codec.rotation=degrees"])
