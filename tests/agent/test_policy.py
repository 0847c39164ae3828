"""UIOPolicy, OraclePolicy and RandomPolicy against the policy contract, and on the embedded tabletop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from uio_agent.agent.evaluate import EvalConfig, evaluate
from uio_agent.agent.policy import GenerationSettings, OraclePolicy, RandomPolicy, UIOPolicy
from uio_agent.codecs.vima import VimaCodec, VimaCodecConfig
from uio_agent.model import PreprocessConfig, UIOConfig, UIOModel
from uio_agent.model.checkpoint import CheckpointError

TINY = UIOConfig.preset("tiny")


def tiny_policy(**kwargs) -> UIOPolicy:
    torch.manual_seed(0)
    codec = VimaCodec(
        preprocess=PreprocessConfig.from_model_config(TINY), config=VimaCodecConfig(max_steps=2)
    )
    return UIOPolicy(UIOModel(TINY), codec, **kwargs)


def fake_episode(seed: int) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    views = {v: rng.integers(0, 255, (3, 128, 256), dtype=np.uint8) for v in ("front", "top")}
    segm = {v: np.zeros((128, 256), dtype=np.uint8) for v in ("front", "top")}
    asset = {"rgb": views, "segm": {**segm, "obj_info": {"obj_id": 0}}, "placeholder_type": "object"}
    info = {
        "prompt": "Put the {dragged_obj} into the {base_obj}.",
        "prompt_assets": {"dragged_obj": asset, "base_obj": asset},
    }
    return {"rgb": views, "segm": segm, "ee": seed % 2}, info


def test_act_batch_plans_for_several_envs_and_follows_the_plan() -> None:
    policy = tiny_policy()
    episodes = [fake_episode(s) for s in range(3)]
    states = [policy.initial_state(info) for _, info in episodes]
    actions, states = policy.act_batch([o for o, _ in episodes], [i for _, i in episodes], states)
    for action, state, (obs, _) in zip(actions, states, episodes, strict=True):
        assert action is not None and set(action) == {
            "pose0_position",
            "pose0_rotation",
            "pose1_position",
            "pose1_rotation",
        }
        assert state.plans_made == 1 and state.stop_reason is None
        verb = "pick" if obs["ee"] == 0 else "push"  # the grammar follows the end effector
        assert state.last_plan_text.startswith(f"1: {verb} from")


def test_replan_modes() -> None:
    obs, info = fake_episode(0)
    for replan, expect_plans in (("when_exhausted", 2), ("never", 1)):
        policy = tiny_policy(replan=replan)
        policy.reset(info)
        actions = [
            policy.act(obs, info) for _ in range(len(policy.codec.decode(_first_plan(policy, obs, info))) + 1)
        ]
        assert policy.state.plans_made == expect_plans
        if replan == "never":
            assert actions[-1] is None and "plan exhausted" in policy.state.stop_reason
        else:
            assert actions[-1] is not None


def _first_plan(policy: UIOPolicy, obs: dict, info: dict) -> str:
    return policy.plan_batch([obs], [info])[0][0]


def test_unconstrained_garbage_is_a_stop_reason_not_a_crash() -> None:
    policy = tiny_policy(generation=GenerationSettings(constrained=False))
    obs, info = fake_episode(0)
    policy.reset(info)
    action = policy.act(obs, info)
    assert action is None and policy.state.stop_reason.startswith("unparsable plan")
    crowded = {**info, "prompt": " ".join(f"{{f{k}}}" for k in range(9))}
    policy.reset(crowded)
    assert policy.act(obs, crowded) is None and "cannot encode the prompt" in policy.state.stop_reason


def test_save_and_load_pretrained(tmp_path) -> None:
    policy = tiny_policy()
    policy.save_pretrained(tmp_path / "ckpt")
    names = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert names == ["codec.json", "config.json", "model.safetensors", "preprocess.json", "tokenizer.model"]
    loaded = UIOPolicy.from_pretrained(tmp_path / "ckpt")
    obs, info = fake_episode(1)
    assert loaded.plan_batch([obs], [info])[0][0] == policy.plan_batch([obs], [info])[0][0]
    assert loaded.codec.config == policy.codec.config
    (tmp_path / "ckpt" / "codec.json").unlink()
    with pytest.raises(CheckpointError, match="codec"):
        UIOPolicy.from_pretrained(tmp_path / "ckpt")


def test_oracle_and_random_on_the_embedded_tabletop(tmp_path) -> None:
    env = "tabletop/visual_manipulation@L1,tabletop/rotate@L1"
    oracle = evaluate(EvalConfig(env=env, out=str(tmp_path / "o"), episodes=4), OraclePolicy(), oracle=True)
    assert oracle["overall"]["success_rate"] == 1.0
    assert set(oracle["per_task"]) == {"visual_manipulation@L1", "rotate@L1"}
    from uio_agent.envs.tabletop.env import action_space

    rnd = evaluate(
        EvalConfig(env="tabletop/rotate@L1", out=str(tmp_path / "r"), episodes=3),
        RandomPolicy(action_space()),
    )
    assert rnd["overall"]["episodes"] == 3 and rnd["overall"]["success_rate"] < 1.0


def test_tiny_uio_policy_completes_the_evaluation_with_parsing_plans(tmp_path) -> None:
    info = evaluate(
        EvalConfig(env="tabletop/visual_manipulation@L1", out=str(tmp_path), episodes=2, workers=2),
        tiny_policy(),
    )
    assert info["overall"]["episodes"] == 2
    assert not any("unparsable" in reason for reason in info["overall"]["failure_reasons"])
