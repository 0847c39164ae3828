"""The policy side of ObjectNav: build specs, UIO-2 acting with the ObjectNav codec, the random walk on
Discrete(6), and ``eval`` / ``collect`` on ``objectnav/procedural`` (a fake with ObjectNavEnv's interface)."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest
import torch
from agent_fake_envs import FakeObjectNavEnv

from uio_agent.agent.build import build_policy, codec_family
from uio_agent.agent.collect import collect
from uio_agent.agent.evaluate import EvalConfig, evaluate, format_table
from uio_agent.agent.nav_policy import OBJECTNAV_WALK, RandomWalkPolicy, UIOObjectNavPolicy
from uio_agent.agent.policy import OraclePolicy, RandomPolicy
from uio_agent.codecs.navigation import NavCodecConfig
from uio_agent.codecs.objectnav import ObjectNavCodec
from uio_agent.data.reader import EpisodeDataset
from uio_agent.envs import registry
from uio_agent.model import PreprocessConfig, UIOConfig, UIOModel

TINY = UIOConfig.preset("tiny")


@pytest.fixture(autouse=True)
def fake_objectnav_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    """``objectnav/...`` names build the fake (the embedded env's interface, no renderer)."""
    monkeypatch.setitem(registry.SUITES, "objectnav", "agent_fake_envs:make_fake_objectnav")


def tiny_objectnav_policy(history_frames: int = 2) -> UIOObjectNavPolicy:
    torch.manual_seed(0)
    codec = ObjectNavCodec(
        preprocess=PreprocessConfig.from_model_config(TINY),
        config=NavCodecConfig(history_frames=history_frames),
    )
    return UIOObjectNavPolicy(UIOModel(TINY), codec)


def test_build_specs_choose_the_objectnav_codec_and_actions(tmp_path) -> None:
    for name in ("objectnav/procedural", "thor/procedural", "thor/houses"):
        assert codec_family(name) == "objectnav"
        policy, oracle = build_policy("uio:tiny", name)
        assert isinstance(policy, UIOObjectNavPolicy) and isinstance(policy.codec, ObjectNavCodec)
        assert not oracle
    random_policy, _ = build_policy("random", "thor/procedural")
    assert isinstance(random_policy, RandomPolicy) and random_policy.action_space == gym.spaces.Discrete(6)
    oracle_policy, oracle = build_policy("oracle", "objectnav/procedural")
    assert isinstance(oracle_policy, OraclePolicy) and oracle
    walk, _ = build_policy("random_walk", "objectnav/procedural")
    assert isinstance(walk, RandomWalkPolicy) and walk.actions == OBJECTNAV_WALK
    with pytest.raises(ValueError, match="mix codec families"):
        codec_family("objectnav/procedural,pointnav/procedural")
    # checkpoints keep their family: an ObjectNav folder loads for THOR, not for PointNav
    policy = tiny_objectnav_policy()
    policy.save_pretrained(tmp_path / "ckpt")
    assert json.loads((tmp_path / "ckpt" / "codec.json").read_text())["family"] == "objectnav"
    loaded, _ = build_policy(str(tmp_path / "ckpt"), "thor/procedural")
    assert isinstance(loaded, UIOObjectNavPolicy) and loaded.codec.config == policy.codec.config
    with pytest.raises(ValueError, match="saved for the 'objectnav' codec"):
        build_policy(str(tmp_path / "ckpt"), "pointnav/procedural")


def test_untrained_tiny_acts_in_batches_on_objectnav() -> None:
    policy = tiny_objectnav_policy(history_frames=2)
    envs = [FakeObjectNavEnv(max_episode_steps=20) for _ in range(2)]
    steps = [env.reset(seed=seed) for seed, env in enumerate(envs)]
    states = [policy.initial_state(info) for _, info in steps]
    for _ in range(4):
        actions, states = policy.act_batch([o for o, _ in steps], [i for _, i in steps], states)
        assert all(isinstance(a, int) and 0 <= a < 6 for a in actions), [s.stop_reason for s in states]
        steps = []
        for env, action, state in zip(envs, actions, states, strict=True):
            obs, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:  # an untrained model may End: start over, fresh state
                obs, info = env.reset(seed=7)
                state.history.clear(), state.features.clear()
                state.start_info = policy.initial_state(info).start_info
            steps.append((obs, info))
    assert all(len(s.history) == len(s.features) <= 2 and s.frames_embedded == 4 for s in states)
    assert all(s.last_text in policy.codec.action_phrases for s in states)
    # missing THOR metadata ends the episode with a reason instead of raising
    policy.reset({})
    assert policy.act(steps[0][0], {}) is None and "agent" in (policy.state.stop_reason or "")


def test_random_walk_on_discrete6_never_ends_unless_asked() -> None:
    walk = RandomWalkPolicy(seed=1, actions=OBJECTNAV_WALK)
    runs = []
    for _ in range(2):
        state = walk.initial_state({"episode_seed": 4})
        runs.append([walk.act_batch([{}], [{}], [state])[0][0] for _ in range(400)])
    assert runs[0] == runs[1] and 3 not in runs[0] and set(runs[0]) == {0, 1, 2, 4, 5}
    assert 0.4 < runs[0].count(0) / 400 < 0.6 and 0.05 < (runs[0].count(4) + runs[0].count(5)) / 400 < 0.16
    ending = RandomWalkPolicy(seed=1, stop=0.3, actions=OBJECTNAV_WALK)
    state = ending.initial_state({"episode_seed": 4})
    assert 3 in [ending.act_batch([{}], [{}], [state])[0][0] for _ in range(20)]
    with pytest.raises(ValueError, match="<= 1"):
        RandomWalkPolicy(forward=0.8, stop=0.3, actions=OBJECTNAV_WALK)


def test_eval_objectnav_reports_success_spl_and_distance_to_target(tmp_path) -> None:
    policy, oracle = build_policy("oracle", "objectnav/procedural")
    info = evaluate(
        EvalConfig(env="objectnav/procedural", out=str(tmp_path / "oracle"), episodes=3),
        policy,
        oracle=oracle,
    )
    overall = info["overall"]
    assert overall["success_rate"] == 1.0 and 0.5 < overall["spl"] <= 1.0
    for key in ("spl_ci95", "distance_to_target", "distance_to_target_ci95", "distance_to_target_episodes"):
        assert key in overall
    assert "soft_spl" not in overall and "distance_to_goal" not in overall
    assert overall["distance_to_target"] <= 1.0
    table = format_table(info["per_task"], info["per_level"])
    assert "distance to target (m)" in table and "SoftSPL" not in table and "| procedural | 3 |" in table
    policy, oracle = build_policy("uio:tiny", "objectnav/procedural")
    config = EvalConfig(
        env="objectnav/procedural",
        out=str(tmp_path / "tiny"),
        episodes=2,
        env_kwargs={"max_episode_steps": 3},
    )
    overall = evaluate(config, policy, oracle=oracle)["overall"]
    # constrained decoding: episodes end by End or the step budget, never by an unparsable output
    assert set(overall["failure_reasons"]) <= {"target_not_visible", "step_limit"}


def test_collect_random_walk_objectnav(tmp_path) -> None:
    summary = collect(
        "objectnav/procedural", "random_walk", 2, 1, tmp_path, keep_failures=True, progress=False
    )
    assert summary.kept == 2
    episodes = list(EpisodeDataset(tmp_path))
    assert all(e.num_steps == 500 and 3 not in e.actions for e in episodes)
    assert episodes[0].observations[0]["object_type"] == "Apple"
    codec = ObjectNavCodec()
    assert {codec.target(episodes[0].as_target_source(), t) for t in range(10)} <= set(codec.action_phrases)
