"""UIONavPolicy (cached history embeddings, batching, checkpoints), build_policy's family choice, and the
navigation summaries of the evaluation, on fake observations and on the embedded PointNav."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from uio_agent.agent.build import build_policy, codec_family
from uio_agent.agent.collect import collect
from uio_agent.agent.evaluate import EvalConfig, evaluate, format_table, navigation_summary, summarize
from uio_agent.agent.nav_policy import RandomWalkPolicy, UIONavPolicy
from uio_agent.agent.policy import GenerationSettings, UIOPolicy
from uio_agent.agent.rollout import EpisodeResult
from uio_agent.codecs.navigation import NavCodecConfig, NavStep
from uio_agent.codecs.pointnav import PointNavCodec
from uio_agent.data.reader import EpisodeDataset
from uio_agent.envs.nav.frames import yaw_to_quaternion
from uio_agent.model import PreprocessConfig, UIOConfig, UIOModel
from uio_agent.model.checkpoint import CheckpointError

TINY = UIOConfig.preset("tiny")


def tiny_nav_policy(history_frames: int = 3, **kwargs) -> UIONavPolicy:
    torch.manual_seed(0)
    codec = PointNavCodec(
        preprocess=PreprocessConfig.from_model_config(TINY),
        config=NavCodecConfig(history_frames=history_frames),
    )
    return UIONavPolicy(UIOModel(TINY), codec, **kwargs)


def fake_step(seed: int, t: int) -> tuple[dict, dict]:
    """An observation and info as PointNavEnv reports them, the agent walking along -z and turning."""
    rng = np.random.default_rng([seed, t])
    obs = {
        "rgb": rng.integers(0, 255, (48, 64, 3), dtype=np.uint8),
        "pointgoal_with_gps_compass": np.array([5.0 - 0.25 * t, 0.1 * seed], np.float32),
    }
    info = {"agent_position": [0.0, 0.0, -0.25 * t], "agent_rotation": yaw_to_quaternion(0.1 * t)}
    return obs, info


def test_history_embeddings_are_cached_and_equal_to_embedding_the_frames() -> None:
    policy = tiny_nav_policy(history_frames=3)
    calls: list[int] = []
    embed = policy.model.embed_history_frames

    def counting(patches, *args, **kwargs):
        calls.append(int(patches.shape[0]))
        return embed(patches, *args, **kwargs)

    policy.model.embed_history_frames = counting  # type: ignore[method-assign]
    envs = 2
    states = [policy.initial_state(fake_step(s, 0)[1]) for s in range(envs)]
    frames: list[list[np.ndarray]] = [[] for _ in range(envs)]
    for t in range(5):
        steps = [fake_step(s, t) for s in range(envs)]
        actions, states = policy.act_batch([o for o, _ in steps], [i for _, i in steps], states)
        assert all(a in range(4) for a in actions)
        for s in range(envs):
            frames[s].append(steps[s][0]["rgb"])
    # one model call per step embedding one new frame per environment; the window keeps 3
    assert calls == [envs] * 5
    assert all(s.frames_embedded == 5 and len(s.history) == len(s.features) == 3 for s in states)
    assert [round(s.pose.z, 6) for s in states[0].history] == [-0.5, -0.75, -1.0]
    # the cached window gives the encoder exactly what embedding the frames from scratch gives
    obs, _ = fake_step(0, 5)
    entries = [
        NavStep(step.pose, step.action, frame)
        for step, frame in zip(states[0].history, frames[0][-3:], strict=True)
    ]
    text = policy.codec.prompt_text(obs, {}, states[0].history)
    cached = policy.model_inputs([obs["rgb"]], [text], [states[0]])
    assert cached.image_history_patches is None and cached.image_history_features is not None
    fresh = policy.codec.encode(obs, {}, entries)
    assert torch.equal(cached.text_tokens[0], fresh.text_tokens[0])
    with torch.no_grad():
        a, b = policy.model.encode(cached).hidden, policy.model.encode(fresh).hidden
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_batched_actions_match_one_environment_at_a_time() -> None:
    policy = tiny_nav_policy(history_frames=2)
    seeds = [0, 1, 2]
    batch_states = [policy.initial_state(fake_step(s, 0)[1]) for s in seeds]
    solo_states = [policy.initial_state(fake_step(s, 0)[1]) for s in seeds]
    for t in range(3):
        steps = [fake_step(s, t) for s in seeds]
        # environments join the batch with different history lengths (padded frames masked out)
        active = [k for k in range(len(seeds)) if k <= t]
        batch_actions, _ = policy.act_batch(
            [steps[k][0] for k in active], [steps[k][1] for k in active], [batch_states[k] for k in active]
        )
        solo_actions = [
            policy.act_batch([steps[k][0]], [steps[k][1]], [solo_states[k]])[0][0] for k in active
        ]
        assert batch_actions == solo_actions
        assert [batch_states[k].last_text for k in active] == [solo_states[k].last_text for k in active]


def test_failures_become_stop_reasons() -> None:
    policy = tiny_nav_policy()
    obs, info = fake_step(0, 0)
    policy.reset(info)
    assert policy.act(obs, {}) is None and "agent pose" in (policy.state.stop_reason or "")
    assert policy.act(obs, info) is None  # a stopped episode stays stopped
    policy.reset(info)
    assert policy.act({"pointgoal_with_gps_compass": obs["pointgoal_with_gps_compass"]}, info) is None
    assert "'rgb'" in (policy.state.stop_reason or "")
    unconstrained = tiny_nav_policy(generation=GenerationSettings(constrained=False))
    unconstrained.reset(info)
    action = unconstrained.act(obs, info)
    if action is None:  # untrained weights: free text is (almost always) no action phrase
        assert unconstrained.state.stop_reason.startswith("unparsable action")
    too_long = PointNavCodec(config=NavCodecConfig(history_frames=8))
    small = UIOConfig.preset("tiny")
    small.image_history.max_frames = 4
    with pytest.raises(ValueError, match="max_frames"):
        UIONavPolicy(UIOModel(small), too_long)


def test_checkpoints_and_build_policy_choose_the_codec_family(tmp_path) -> None:
    policy = tiny_nav_policy(history_frames=2)
    policy.save_pretrained(tmp_path / "nav")
    assert json.loads((tmp_path / "nav" / "codec.json").read_text())["family"] == "pointnav"
    loaded, oracle = build_policy(str(tmp_path / "nav"), "pointnav/procedural")
    assert isinstance(loaded, UIONavPolicy) and not oracle
    assert loaded.codec.config == policy.codec.config
    obs, info = fake_step(0, 0)
    for p in (policy, loaded):
        p.reset(info)
    assert policy.act(obs, info) == loaded.act(obs, info)
    with pytest.raises(ValueError, match="saved for the 'pointnav' codec"):
        build_policy(str(tmp_path / "nav"), "tabletop/rotate@L1")
    with pytest.raises(CheckpointError, match=r"codec\.json"):
        (tmp_path / "empty").mkdir()
        build_policy(str(tmp_path / "empty"), "pointnav/procedural")
    assert isinstance(build_policy("uio:tiny", "pointnav/procedural")[0], UIONavPolicy)
    assert isinstance(build_policy("uio:tiny", "habitat")[0], UIONavPolicy)
    assert isinstance(build_policy("uio:tiny", "tabletop/rotate@L1")[0], UIOPolicy)
    assert codec_family("pointnav/procedural,habitat") == "pointnav"
    with pytest.raises(ValueError, match="mix codec families"):
        codec_family("pointnav/procedural,tabletop/rotate@L1")


def _result(success: bool, infos: list[dict]) -> EpisodeResult:
    return EpisodeResult(
        "pointnav/procedural", 0, 0, success, None if success else "x", len(infos), 0, step_infos=infos
    )


def test_navigation_summary_hand_computed() -> None:
    results = [
        _result(
            True,
            [
                {"spl": 0.0, "soft_spl": 0.1, "distance_to_goal": 3.0},
                {"spl": 0.8, "soft_spl": 0.9, "distance_to_goal": 0.1},
            ],
        ),
        _result(False, [{"spl": 0.0, "soft_spl": 0.5, "distance_to_goal": 2.0}]),
        _result(False, []),  # ended before its first step: SPL 0, no distance
    ]
    m = navigation_summary(results)
    assert m["spl"] == pytest.approx(0.8 / 3) and m["soft_spl"] == pytest.approx(1.4 / 3)
    assert m["distance_to_goal"] == pytest.approx(1.05) and m["distance_to_goal_episodes"] == 2
    sd = math.sqrt(((0.8 - 0.8 / 3) ** 2 + 2 * (0.8 / 3) ** 2) / 2)
    assert m["spl_ci95"] == pytest.approx([0.0, 0.8 / 3 + 1.959964 * sd / math.sqrt(3)])
    assert navigation_summary([_result(True, [{"picked_obj_id": 1}])]) == {}
    assert "spl" in summarize(results) and "spl" not in summarize([_result(True, [{}])])


def test_tiny_uio_runs_the_pointnav_evaluation_end_to_end(tmp_path) -> None:
    policy, oracle = build_policy("uio:tiny", "pointnav/procedural")
    config = EvalConfig(
        env="pointnav/procedural",
        out=str(tmp_path),
        policy="uio:tiny",
        episodes=2,
        env_kwargs={"max_episode_steps": 3, "sensors": ["rgb"]},
    )
    info = evaluate(config, policy, oracle=oracle)
    overall = info["overall"]
    assert overall["episodes"] == 2
    for key in ("spl", "soft_spl", "distance_to_goal"):
        assert key in overall and f"{key}_ci95" in overall
    assert 0.0 <= overall["soft_spl_ci95"][0] <= overall["soft_spl"] <= overall["soft_spl_ci95"][1] <= 1.0
    # constrained decoding: every episode ends by the environment (STOP or the step budget), never a parse error
    assert set(overall["failure_reasons"]) <= {"stopped_too_far", "step_limit"}
    lines = [json.loads(x) for x in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert all(1 <= line["steps"] <= 3 and line["plans"] == line["steps"] for line in lines)
    table = format_table(info["per_task"], info["per_level"])
    assert "SPL" in table and "| procedural | 2 |" in table


def test_oracle_pointnav_evaluation_reports_spl(tmp_path) -> None:
    policy, oracle = build_policy("oracle", "pointnav/procedural")
    config = EvalConfig(env="pointnav/procedural", out=str(tmp_path), episodes=2, env_kwargs={"sensors": []})
    overall = evaluate(config, policy, oracle=oracle)["overall"]
    assert overall["success_rate"] == 1.0 and overall["spl"] > 0.9
    assert overall["distance_to_goal"] < 0.2


def test_random_walk_never_stops_and_is_reproducible() -> None:
    policy, oracle = build_policy("random_walk", "pointnav/procedural", seed=3)
    assert isinstance(policy, RandomWalkPolicy) and not oracle
    runs = []
    for _ in range(2):
        state = policy.initial_state({"episode_seed": 7})
        runs.append([policy.act_batch([{}], [{}], [state])[0][0] for _ in range(200)])
    assert runs[0] == runs[1] and 0 not in runs[0] and set(runs[0]) == {1, 2, 3}
    assert 0.4 < runs[0].count(1) / 200 < 0.6
    with pytest.raises(ValueError, match="navigation suites"):
        build_policy("random_walk", "tabletop/rotate@L1")


def test_collect_oracle_pointnav_dataset(tmp_path) -> None:
    summary = collect("pointnav/procedural", "oracle", 1, 1, tmp_path, progress=False)
    assert summary.kept == 1
    (episode,) = EpisodeDataset(tmp_path)
    assert episode.success and episode.observations[0]["rgb"].shape == (256, 256, 3)
    assert len(episode.observations) == episode.num_steps + 1
    codec = PointNavCodec()
    targets = [codec.target(episode.as_target_source(), t) for t in range(episode.num_steps)]
    assert targets[-1] == "stop" and "stop" not in targets[:-1] and "move forward" in targets
