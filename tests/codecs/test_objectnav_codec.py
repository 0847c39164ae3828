"""ObjectNav codec: target and camera text, THOR-frame poses, the six actions, grammar, files."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
import torch
from grammar_samples import sample_sentence
from hypothesis import given, settings
from hypothesis import strategies as st

from uio_agent.codecs.grammar import ActionParseError
from uio_agent.codecs.navigation import NavCodecConfig, NavPose, NavStep, pose_text
from uio_agent.codecs.objectnav import ACTION_PHRASES, ObjectNavCodec, target_text
from uio_agent.codecs.pointnav import PointNavCodec
from uio_agent.codecs.prompts import NEXT_ACTION_PHRASES
from uio_agent.envs.nav.thor import ACTION_NAMES
from uio_agent.model.batch import EOS_ID
from uio_agent.model.tokenizer import location_value

CODEC = ObjectNavCodec()


def thor_info(x: float, z: float, rotation_y: float, horizon: float = 30.0) -> dict:
    """An info as ObjectNavEnv and the THOR adapter report it (Unity frame)."""
    return {
        "agent": {
            "position": {"x": x, "y": 0.9, "z": z},
            "rotation": {"x": 0.0, "y": rotation_y, "z": 0.0},
            "cameraHorizon": horizon,
        }
    }


def test_action_phrases_are_thor_names_in_allenact_order() -> None:
    assert ACTION_NAMES == ("MoveAhead", "RotateLeft", "RotateRight", "End", "LookUp", "LookDown")
    assert ACTION_PHRASES == ("move ahead", "rotate left", "rotate right", "end", "look up", "look down")


def test_target_and_camera_text() -> None:
    assert target_text("AlarmClock", 30.0) == (
        "Find the alarm clock in the house. The camera looks 30 degrees down. "
    )
    assert (
        target_text(np.str_("Apple"), -29.6)
        == "Find the apple in the house. The camera looks 30 degrees up. "
    )
    assert target_text("Television", 0.2).endswith("The camera looks straight ahead. ")
    for bad in ("", "  ", "Apple; End"):
        with pytest.raises(ValueError, match="object type"):
            target_text(bad, 0.0)


def test_prompt_layout_with_history() -> None:
    steps = [NavStep(NavPose(0.0, 0.0, 0.0), 0), NavStep(NavPose(0.0, -0.25, 0.0), 4)]
    text = CODEC.prompt_text({"object_type": "HousePlant"}, thor_info(0, 0, 0, 0.0), steps)
    assert text == (
        f"[Text] [S] {NEXT_ACTION_PHRASES[0]} Find the house plant in the house. The camera looks straight "
        'ahead. with the discrete action space "move ahead, rotate left, rotate right, end, look up, look down" '
        'based on agent\'s histories with the format "observation ( x z y ) action" History: '
        "<image_history_1> ( <extra_id_699> <extra_id_699> <extra_id_200> ) move ahead "
        "<image_history_2> ( <extra_id_699> <extra_id_694> <extra_id_200> ) look up"
    )
    assert CODEC.tokenizer.decode(CODEC.tokenizer.encode(text), stop_at_eos=True) == text
    with pytest.raises(KeyError, match="camera horizon"):
        CODEC.prompt_text({"object_type": "Apple"}, {}, [])


def test_relative_pose_from_thor_frame_hand_computed() -> None:
    # THOR rotation.y = 90 faces Unity +x; Unity is left-handed, so the start's right is Unity -z
    start = thor_info(1.0, 2.0, 90.0)
    ahead = CODEC.relative_pose(start, thor_info(2.0, 2.0, 90.0))  # 1 m ahead: z = -1 in the start frame
    assert (ahead.x, ahead.z, ahead.yaw) == pytest.approx((0.0, -1.0, 0.0), abs=1e-9)
    right = CODEC.relative_pose(start, thor_info(1.0, 1.5, 120.0))  # 0.5 m to the right, RotateRight once
    assert (right.x, right.z) == pytest.approx((0.5, 0.0), abs=1e-9)
    assert right.yaw == pytest.approx(math.radians(-30))  # turned right: negative, written as 330/360
    yaw_value = location_value(pose_text(right).strip("( )").split()[2])
    assert yaw_value == pytest.approx(330 / 360, abs=1.01 / 999)
    left = CODEC.relative_pose(start, thor_info(1.0, 2.0, 60.0))  # RotateLeft: rotation.y decreases
    assert left.yaw == pytest.approx(math.radians(30))
    with pytest.raises(KeyError, match="THOR's agent metadata"):
        CODEC.relative_pose(start, {})


def test_encode_windows_history_and_reads_the_horizon() -> None:
    codec = ObjectNavCodec(config=NavCodecConfig(history_frames=2))
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (60, 80, 3), dtype=np.uint8) for _ in range(4)]
    history = [NavStep(NavPose(0.0, -0.25 * k, 0.0), 5, frames[k]) for k in range(3)]
    inputs = codec.encode({"rgb": frames[3], "object_type": "Mug"}, thor_info(0, 0, 0, 60.0), history)
    assert inputs.image_history_patches is not None and inputs.image_history_patches.shape[1] == 2
    text = codec.tokenizer.decode(inputs.text_tokens[0].tolist(), stop_at_eos=True)
    assert "Find the mug in the house. The camera looks 60 degrees down." in text
    assert text.endswith(f"<image_history_2> {pose_text(NavPose(0.0, -0.5, 0.0))} look down")


def test_target_and_decode_round_trip_all_six_actions() -> None:
    episode = {"actions": [np.int64(a) for a in range(6)]}
    targets = [CODEC.target(episode, t) for t in range(6)]
    assert targets == list(ACTION_PHRASES)
    assert [CODEC.decode(t) for t in targets] == list(range(6))
    assert [CODEC.decode(name) for name in ACTION_NAMES] == list(range(6))  # THOR's own spelling
    assert CODEC.decode("  Look  DOWN ") == 5
    with pytest.raises(ValueError, match=r"0\.\.5"):
        CODEC.target({"actions": [6]}, 0)
    for bad in ("", "stop", "move forward", "turn left", "look", "end end", "Done"):
        with pytest.raises(ActionParseError):
            CODEC.decode(bad)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=30) | st.sampled_from([*ACTION_PHRASES, *ACTION_NAMES, "rotate", "look  up down"]))
def test_decode_raises_nothing_but_action_parse_error(text: str) -> None:
    with contextlib.suppress(ActionParseError):
        assert CODEC.decode(text) in range(6)


def test_grammar_accepts_exactly_the_six_actions() -> None:
    grammar = CODEC.grammar()
    tok = CODEC.tokenizer
    assert all(grammar.accepts(tok.encode(p)) for p in ACTION_PHRASES)
    for other in ("move forward", "stop", "look", "end look up", "rotate left right"):
        assert not grammar.accepts(tok.encode(other))
    assert not grammar.accepts(tok.encode("look up")[:-1])  # no EOS yet
    assert grammar.allowed_mask([]).sum() == len({tok.encode(p)[0] for p in ACTION_PHRASES}) == 4
    assert grammar.allowed_mask(tok.encode("end")[:-1]).nonzero()[0].tolist() == [EOS_ID]
    assert CODEC.max_output_tokens() == 3
    generator = torch.Generator().manual_seed(0)
    decoded = {
        CODEC.decode(tok.decode(sample_sentence(grammar, generator), stop_at_eos=True)) for _ in range(30)
    }
    assert decoded <= set(range(6)) and len(decoded) > 1


def test_save_load_and_family_check(tmp_path) -> None:
    codec = ObjectNavCodec(config=NavCodecConfig(phrase=3, history_frames=6))
    codec.save(tmp_path)
    loaded = ObjectNavCodec.load(tmp_path, tokenizer_sha256=codec.tokenizer.sha256)
    assert isinstance(loaded, ObjectNavCodec) and loaded.config == codec.config
    with pytest.raises(ValueError, match="not 'pointnav'"):
        PointNavCodec.load(tmp_path)
