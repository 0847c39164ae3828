"""The VIMA codec: prompt layout, images, plan text round trips, strict parsing, constrained decoding."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from uio_agent.codecs.grammar import ActionParseError
from uio_agent.codecs.prompts import vima_instructions
from uio_agent.codecs.vima import (
    PromptImageLimitError,
    VimaCodec,
    VimaCodecConfig,
    yaw_of,
    yaw_quaternion,
)
from uio_agent.model import PreprocessConfig, UIOConfig, UIOModel

CODEC = VimaCodec()
TINY = UIOConfig.preset("tiny")


def action(x0: float, y0: float, yaw0: float, x1: float, y1: float, yaw1: float) -> dict[str, np.ndarray]:
    return {
        "pose0_position": np.array([x0, y0], dtype=np.float32),
        "pose0_rotation": yaw_quaternion(yaw0),
        "pose1_position": np.array([x1, y1], dtype=np.float32),
        "pose1_rotation": yaw_quaternion(yaw1),
    }


def fake_obs_info(seed: int = 0) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    views = {v: rng.integers(0, 255, (3, 128, 256), dtype=np.uint8) for v in ("front", "top")}
    segm = {v: np.zeros((128, 256), dtype=np.uint8) for v in ("front", "top")}
    segm["top"][40:60, 100:130] = 7
    obj_asset = {
        "rgb": views,
        "segm": {**segm, "obj_info": {"obj_id": 7, "obj_name": "heart", "obj_color": "red"}},
        "placeholder_type": "object",
    }
    scene_asset = {"rgb": views, "segm": {**segm, "obj_info": []}, "placeholder_type": "scene"}
    info = {
        "prompt": "Put the {dragged_obj} into the {scene}. Again {dragged_obj}.",
        "prompt_assets": {"dragged_obj": obj_asset, "scene": scene_asset},
    }
    return {"rgb": views, "segm": segm, "ee": 0}, info


def test_prompt_text_layout_and_repeated_placeholders() -> None:
    text, order = CODEC.prompt_text("Put the {a} into the {b}, then {a} again.")
    assert order == ["a", "b"]
    assert text == (
        f"[Text] [S] Put the <image_history_1> into the <image_history_2>, then <image_history_1> again. "
        f"{vima_instructions()[0]}"
    )
    ids = CODEC.tokenizer.encode(text)
    assert ids.count(33200) == 2 and ids.count(33202) == 1 and ids[0] == 33218


def test_prompt_without_instruction_ignores_a_sampled_one() -> None:
    codec = VimaCodec(config=VimaCodecConfig(with_instruction=False))
    text, order = codec.prompt_text("Put the {a} into the {b}.", vima_instructions()[3])
    assert (text, order) == ("[Text] [S] Put the <image_history_1> into the <image_history_2>.", ["a", "b"])
    assert VimaCodecConfig.from_dict(codec.config.to_dict()).with_instruction is False


def test_more_than_eight_images_is_an_explicit_error() -> None:
    prompt = " ".join(f"{{frame_{k}}}" for k in range(9))
    with pytest.raises(PromptImageLimitError, match="9 distinct images"):
        CODEC.prompt_text(prompt)
    assert len(CODEC.prompt_text(" ".join(f"{{frame_{k}}}" for k in range(8)))[1]) == 8


def test_encode_builds_image_input_and_one_history_frame_per_placeholder() -> None:
    codec = VimaCodec(preprocess=PreprocessConfig.from_model_config(TINY))
    obs, info = fake_obs_info()
    inputs = codec.encode(obs, info)
    assert inputs.image_patches.shape == (1, 16, 768)
    assert inputs.image_history_patches.shape == (1, 2, 4, 768)
    assert inputs.image_history_mask.sum() > 0
    crop = codec.asset_image("dragged_obj", info["prompt_assets"]["dragged_obj"])
    assert crop.shape == (3, 20 + 12, 30 + 12)  # mask box plus a 6-pixel margin each side
    assert codec.asset_image("scene", info["prompt_assets"]["scene"]).shape == (3, 256, 256)
    UIOModel(TINY).eval().encode(inputs)  # the model accepts what the codec makes
    with pytest.raises(ValueError, match="without an asset"):
        codec.encode(obs, {**info, "prompt_assets": {}})


def test_target_decode_round_trip_within_one_bin() -> None:
    rng = np.random.default_rng(0)
    for end_effector in ("suction", "spatula"):
        actions = [
            action(*rng.uniform([0.25, -0.5, -3, 0.25, -0.5, -3], [0.75, 0.5, 3, 0.75, 0.5, 3]))
            for _ in range(3)
        ]
        text = CODEC.target({"actions": actions, "end_effector": end_effector}, t=1)
        assert text.startswith("1: pick from (" if end_effector == "suction" else "1: push from (")
        decoded = CODEC.decode(text)
        assert len(decoded) == 2
        for got, want in zip(decoded, actions[1:], strict=True):
            for key in ("pose0_position", "pose1_position"):
                assert got[key].dtype == np.float32
                assert np.all(np.abs(got[key] - want[key]) <= np.array([0.5, 1.0]) / 999 + 1e-6)
            for key in ("pose0_rotation", "pose1_rotation"):
                diff = (math.degrees(yaw_of(got[key]) - yaw_of(want[key])) + 180) % 360 - 180
                assert abs(diff) <= 360 / 999 + 1e-3


def test_official_literal_rotation_reproduces_the_official_denormaliser() -> None:
    codec = VimaCodec(config=VimaCodecConfig(rotation="official_literal"))
    text = "1: pick from ( <extra_id_700> <extra_id_300> <extra_id_205> ) and place to ( <extra_id_200> <extra_id_1199> <extra_id_450> )"
    (step,) = codec.decode(text)
    v = (700 - 200) / 1000
    assert step["pose0_position"][0] == np.float32(0.25 + v * 0.5)
    rot = (205 - 200) / 1000 * 360  # fed to euler2quat as radians
    expected = np.array([0, 0, math.sin(rot / 2), math.cos(rot / 2)], dtype=np.float32)
    assert np.allclose(step["pose0_rotation"], expected)
    assert step["pose1_position"][1] == np.float32(-0.5 + 0.999)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1: pick from ( <extra_id_700> <extra_id_300> <extra_id_205> ) and place to ( <extra_id_200> <extra_id_1199>",
        "1: pick from ( <extra_id_700> <extra_id_300> <extra_id_205> ) and push to ( <extra_id_200> <extra_id_1199> <extra_id_450> )",
        "2: pick from ( <extra_id_700> <extra_id_300> <extra_id_205> ) and place to ( <extra_id_200> <extra_id_1199> <extra_id_450> )",
        "1: grab from ( <extra_id_700> <extra_id_300> <extra_id_205> ) and place to ( <extra_id_200> <extra_id_1199> <extra_id_450> )",
        "1: pick from ( <extra_id_700> <extra_id_300> <extra_id_199> ) and place to ( <extra_id_200> <extra_id_1199> <extra_id_450> )",
        "1: pick from ( <extra_id_700> <extra_id_300> ) and place to ( <extra_id_200> <extra_id_1199> <extra_id_450> )",
        "1: pick from ( <extra_id_700> <extra_id_300> <extra_id_205> ) and place to ( <extra_id_200> <extra_id_1199> <extra_id_450> ) trailing",
    ],
)
def test_malformed_plans_raise_action_parse_error(text: str) -> None:
    with pytest.raises(ActionParseError) as err:
        CODEC.decode(text)
    assert err.value.text == text


def test_extra_steps_beyond_the_limit_are_rejected() -> None:
    text = CODEC.plan_text([action(0.5, 0, 0, 0.5, 0, 0)] * 4, "suction")
    assert len(CODEC.decode(text, max_steps=4)) == 4
    with pytest.raises(ActionParseError, match="more than the 3 allowed"):
        CODEC.decode(text, max_steps=3)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "1:",
                "2:",
                "pick",
                "push",
                "from",
                "place",
                "to",
                "and",
                "(",
                ")",
                "<extra_id_5>",
                "<extra_id_700>",
                "<extra_id_1199>",
                "<extra_id_200>",
                "x",
                "",
                "\n",
            ]
        ),
        max_size=30,
    )
)
def test_decode_raises_nothing_but_action_parse_error(words: list[str]) -> None:
    with contextlib.suppress(ActionParseError):
        CODEC.decode(" ".join(words))


def test_grammar_accepts_exactly_the_target_token_sequences() -> None:
    grammar = CODEC.grammar("suction", max_steps=3)
    for steps in (1, 2, 3):
        ids = CODEC.tokenizer.encode(
            CODEC.plan_text([action(0.3, 0.1, 1.0, 0.6, -0.2, 2.0)] * steps, "suction")
        )
        assert grammar.accepts(ids)
        assert not grammar.accepts(ids[:-2] + ids[-1:])
    too_long = CODEC.tokenizer.encode(CODEC.plan_text([action(0.3, 0.1, 1.0, 0.6, -0.2, 2.0)] * 4, "suction"))
    assert not grammar.accepts(too_long)
    push = CODEC.tokenizer.encode(CODEC.plan_text([action(0.3, 0.1, 1.0, 0.6, -0.2, 2.0)], "spatula"))
    assert not grammar.accepts(push) and CODEC.grammar("spatula", 3).accepts(push)


@pytest.mark.parametrize("method", ["greedy", "sample", "beam"])
def test_constrained_generation_always_parses(method: str) -> None:
    torch.manual_seed(0)
    model = UIOModel(TINY).eval()
    codec = VimaCodec(
        preprocess=PreprocessConfig.from_model_config(TINY), config=VimaCodecConfig(max_steps=2)
    )
    obs, info = fake_obs_info()
    inputs = codec.encode(obs, info)
    grammar = codec.grammar("suction")
    banned = torch.from_numpy(~codec.tokenizer.generable_mask())
    for seed in range(3):
        result = model.generate(
            inputs,
            max_new_tokens=60,
            method=method,
            num_beams=2,
            allowed_tokens=grammar.allowed_tokens(),
            banned_tokens=banned,
            generator=torch.Generator().manual_seed(seed),
        )
        ids = result.tokens[0].tolist()
        assert grammar.accepts(ids[: ids.index(1) + 1])
        plan = codec.decode(codec.tokenizer.decode(ids, stop_at_eos=True))
        assert 1 <= len(plan) <= 2


def test_codec_config_round_trip_and_validation() -> None:
    cfg = VimaCodecConfig(rotation="official_literal", object_view="front")
    assert VimaCodecConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="rotation"):
        VimaCodecConfig(rotation="radians")
    with pytest.raises(ValueError, match="unknown"):
        VimaCodecConfig.from_dict({"family": "vima", "colour": 1})
