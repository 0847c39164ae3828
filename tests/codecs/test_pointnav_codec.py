"""PointNav codec: prompt, goal and history text, poses as location tokens, targets, decoding, grammar."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import random

import numpy as np
import pytest
import torch
from grammar_samples import sample_sentence
from hypothesis import given, settings
from hypothesis import strategies as st

from uio_agent.codecs.grammar import ActionParseError
from uio_agent.codecs.navigation import (
    POSITION_RANGE,
    NavCodecConfig,
    NavPose,
    NavStep,
    pose_text,
)
from uio_agent.codecs.pointnav import ACTION_PHRASES, PointNavCodec, goal_text
from uio_agent.codecs.prompts import NEXT_ACTION_PHRASES
from uio_agent.envs.nav.frames import yaw_to_quaternion
from uio_agent.model.batch import EOS_ID
from uio_agent.model.tokenizer import location_value

CODEC = PointNavCodec()


def _frame(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (256, 256, 3), dtype=np.uint8)


def test_goal_text_follows_habitat_sign_convention() -> None:
    assert goal_text([3.21, math.radians(40.2)]) == "The goal is 3.2 meters away and 40 degrees to the left. "
    assert (
        goal_text([0.04, -math.radians(135.6)])
        == "The goal is 0.0 meters away and 136 degrees to the right. "
    )
    assert goal_text(np.array([12.0, 0.0], dtype=np.float32)).endswith("0 degrees to the left. ")
    with pytest.raises(ValueError, match="finite"):
        goal_text([math.nan, 0.0])


def test_prompt_layout_with_history() -> None:
    steps = [NavStep(NavPose(0.0, 0.0, 0.0), 1), NavStep(NavPose(0.0, -0.25, 0.0), 2)]
    text = CODEC.prompt_text({"pointgoal_with_gps_compass": [3.21, 0.7]}, {}, steps)
    assert text.startswith(f"[Text] [S] {NEXT_ACTION_PHRASES[0]} The goal is 3.2 meters away and 40 degrees")
    assert 'with the discrete action space "stop, move forward, turn left, turn right" based on' in text
    assert text.endswith(
        "History: <image_history_1> ( <extra_id_699> <extra_id_699> <extra_id_200> ) move forward "
        "<image_history_2> ( <extra_id_699> <extra_id_694> <extra_id_200> ) turn left"
    )
    assert "History:" not in CODEC.prompt_text({"pointgoal_with_gps_compass": [1.0, 0.0]}, {}, [])
    # the text round-trips through the tokenizer (special pieces after single spaces)
    assert CODEC.tokenizer.decode(CODEC.tokenizer.encode(text), stop_at_eos=True) == text


def test_pose_tokens_cover_the_documented_range() -> None:
    def values(pose: NavPose) -> list[float]:
        return [location_value(t) for t in pose_text(pose).strip("( )").split()]

    x, z, yaw = values(NavPose(5.0, -2.5, math.radians(90)))
    assert x == pytest.approx((5.0 + POSITION_RANGE) / (2 * POSITION_RANGE), abs=1.01 / 999)
    assert z == pytest.approx((-2.5 + POSITION_RANGE) / (2 * POSITION_RANGE), abs=1.01 / 999)
    assert yaw == pytest.approx(0.25, abs=1.01 / 999)
    # outside the range: clipped, turning right by 10 degrees is 350/360
    x, z, yaw = values(NavPose(-100.0, 100.0, math.radians(-10)))
    assert (x, z) == (0.0, 1.0) and yaw == pytest.approx(350 / 360, abs=1.01 / 999)


def test_relative_pose_is_in_the_start_frame() -> None:
    def info(position: list[float], yaw: float) -> dict:
        return {"agent_position": position, "agent_rotation": yaw_to_quaternion(yaw)}

    start = info([1.0, 0.0, 2.0], math.pi / 2)  # facing -x
    assert dataclasses.astuple(CODEC.agent_pose(start)) == pytest.approx((1.0, 2.0, math.pi / 2))
    # one metre further along -x is one metre "forward" = -z in the start frame; then turned left 10 deg
    pose = CODEC.relative_pose(start, info([0.0, 0.0, 2.0], math.pi / 2 + math.radians(10)))
    assert pose.x == pytest.approx(0.0, abs=1e-9) and pose.z == pytest.approx(-1.0)
    assert pose.yaw == pytest.approx(math.radians(10))
    # facing -x, the agent's right is -z in the world (turning left by 90 deg rotates +x to -z)
    right = CODEC.relative_pose(start, info([1.0, 0.0, 1.5], math.pi / 2))
    assert right.x == pytest.approx(0.5) and right.z == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(KeyError, match="agent pose"):
        CODEC.relative_pose(start, {"agent_position": [0.0, 0.0, 0.0]})


def test_encode_windows_history_and_fills_image_streams() -> None:
    codec = PointNavCodec(config=NavCodecConfig(history_frames=3))
    obs = {"rgb": _frame(0), "pointgoal_with_gps_compass": np.array([2.0, -0.3], np.float32)}
    history = [NavStep(NavPose(0.0, -0.25 * k, 0.0), 1, _frame(k + 1)) for k in range(5)]
    inputs = codec.encode(obs, {}, history)
    assert inputs.image_history_patches is not None and inputs.image_history_patches.shape[1] == 3
    text = codec.tokenizer.decode(inputs.text_tokens[0].tolist(), stop_at_eos=True)
    assert "<image_history_3>" in text and "<image_history_4>" not in text
    # the window keeps the newest entries: the last one is 1 m ahead of the start (z = -1.0)
    assert text.endswith(f"<image_history_3> {pose_text(NavPose(0.0, -1.0, 0.0))} move forward")
    assert inputs.image_patches is not None and inputs.image_patches.shape[0] == 1
    # no history, no history stream; a missing frame is an explicit error
    assert codec.encode(obs, {}, []).image_history_patches is None
    with pytest.raises(ValueError, match="has no frame"):
        codec.encode(obs, {}, [NavStep(NavPose(0, 0, 0), 1)])
    sampled = codec.encode(obs, {}, [], rng=random.Random(3))
    assert sampled.text_tokens.shape[0] == 1


def test_target_and_decode_round_trip() -> None:
    episode = {"actions": [np.int64(1), 2, 3, 0]}
    assert [CODEC.target(episode, t) for t in range(4)] == ["move forward", "turn left", "turn right", "stop"]
    for action, phrase in enumerate(ACTION_PHRASES):
        assert CODEC.decode(phrase) == action
    assert CODEC.decode("  Move_Forward ") == 1 and CODEC.decode("TurnLeft") == 2
    with pytest.raises(ValueError, match="outside"):
        CODEC.target(episode, 4)
    with pytest.raises(ValueError, match=r"0\.\.3"):
        CODEC.target({"actions": [7]}, 0)
    for bad in ("", "move", "move forward turn left", "go ahead", "<extra_id_300>"):
        with pytest.raises(ActionParseError):
            CODEC.decode(bad)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40) | st.sampled_from([*ACTION_PHRASES, "move  forward", "turn", "stop stop"]))
def test_decode_raises_nothing_but_action_parse_error(text: str) -> None:
    with contextlib.suppress(ActionParseError):
        assert CODEC.decode(text) in range(4)


def test_grammar_accepts_exactly_the_four_actions() -> None:
    grammar = CODEC.grammar()
    tok = CODEC.tokenizer
    for phrase in ACTION_PHRASES:
        assert grammar.accepts(tok.encode(phrase))
    assert not grammar.accepts(tok.encode("move ahead"))
    assert not grammar.accepts(tok.encode("turn left")[:-1])  # no EOS yet
    first = grammar.allowed_mask([])
    assert first.sum() == len({tok.encode(p)[0] for p in ACTION_PHRASES})
    assert grammar.allowed_mask(tok.encode("stop")[:-1]).nonzero()[0].tolist() == [EOS_ID]
    # the allowed_tokens hook keeps random logits inside the language
    prefix = sample_sentence(grammar, torch.Generator().manual_seed(0))
    assert CODEC.decode(tok.decode(prefix, stop_at_eos=True)) in range(4)


def test_config_validation_and_save_load(tmp_path) -> None:
    with pytest.raises(ValueError, match="history_frames"):
        NavCodecConfig(history_frames=9)
    with pytest.raises(ValueError, match="phrase"):
        NavCodecConfig(phrase=19)
    codec = PointNavCodec(config=NavCodecConfig(phrase=5, history_frames=8))
    codec.save(tmp_path)
    loaded = PointNavCodec.load(tmp_path, tokenizer_sha256=codec.tokenizer.sha256)
    assert loaded.config == codec.config
    (tmp_path / "codec.json").write_text('{"family": "vima"}')
    with pytest.raises(ValueError, match="not 'pointnav'"):
        PointNavCodec.load(tmp_path)
