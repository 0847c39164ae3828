"""Tabletop augmentation: the 180-degree turn is a turn of the workspace, labels follow, colours permute
consistently, and prompts that name colours in words keep theirs."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from uio_agent.codecs.vima import VimaCodec, VimaCodecConfig, yaw_quaternion
from uio_agent.data.episode import Episode
from uio_agent.envs import make_env
from uio_agent.model.config import UIOConfig
from uio_agent.model.preprocess import PreprocessConfig
from uio_agent.train.augment import AugmentationDraw, TabletopAugmentation, names_a_texture, turn_position
from uio_agent.train.examples import ExampleBuilder


def test_turning_the_top_view_is_turning_the_workspace() -> None:
    """Objects moved to their turned poses render where the flipped top view has them."""
    env = make_env("tabletop/visual_manipulation@L1")
    env.reset(seed=3)
    world = env.unwrapped.world
    ids = [int(k) for k in env.unwrapped.meta_info["obj_id_to_info"]]
    _, segm = world.observe(("top",))["top"]
    flipped = AugmentationDraw(rotate_180=True).mask(segm)
    for obj in ids:
        position, yaw = world.pose(obj)
        world.move_object(obj, turn_position(position[:2]), yaw + math.pi, z=float(position[2]))
    _, turned = world.observe(("top",))["top"]
    env.close()
    for obj in ids:
        a, b = turned == obj, flipped == obj
        assert a.sum() > 20, f"object {obj} is not in the top view"
        assert (a & b).sum() / (a | b).sum() > 0.9, f"object {obj} is not where the flipped view shows it"


def square_episode(column: int, prompt: str = "Put the {dragged_obj} into the {base_obj}.") -> Episode:
    """A red square in the scene at ``column``, its crop and a blue base as prompt images."""
    top = np.full((3, 128, 256), 48, dtype=np.uint8)
    top[0, 30:50, column : column + 20] = 250
    segm = np.zeros((128, 256), dtype=np.uint8)
    segm[30:50, column : column + 20] = 5
    base = np.full((3, 128, 256), 255, dtype=np.uint8)
    base[2, 50:80, 100:140] = 40
    base_segm = np.zeros((128, 256), dtype=np.uint8)
    base_segm[50:80, 100:140] = 6
    assets = {
        "dragged_obj": {
            "rgb": {"top": top, "front": top},
            "segm": {"top": segm, "front": segm, "obj_info": {"obj_id": 5}},
            "placeholder_type": "object",
        },
        "base_obj": {
            "rgb": {"top": base, "front": base},
            "segm": {"top": base_segm, "front": base_segm, "obj_info": {"obj_id": 6}},
            "placeholder_type": "object",
        },
    }
    obs = {"rgb": {"top": top, "front": top}, "segm": {"top": segm, "front": segm}, "ee": 0}
    action = {
        "pose0_position": np.array([0.4, -0.2], np.float32),
        "pose0_rotation": yaw_quaternion(0.3),
        "pose1_position": np.array([0.7, 0.35], np.float32),
        "pose1_rotation": yaw_quaternion(1.2),
    }
    meta = {"end_effector_type": "suction"}
    return Episode("tabletop/visual_manipulation@L1", 0, [obs, obs], [action], prompt, assets, meta_info=meta)


def codec(layout: str = "top") -> VimaCodec:
    model = UIOConfig.preset("tiny", image_input_size=[64, 128], image_history_input_size=[32, 32])
    return VimaCodec(
        preprocess=PreprocessConfig.from_model_config(model),
        config=VimaCodecConfig(observation_layout=layout, with_instruction=False),
    )


def test_turned_example_has_turned_images_and_labels() -> None:
    episode = square_episode(40)
    vima = codec()
    builder = ExampleBuilder(vima, augmentation=TabletopAugmentation(rotate_180=1.0))
    example = builder.build(episode, random.Random(0))
    plain = ExampleBuilder(vima).build(episode, random.Random(0))
    draw = AugmentationDraw(rotate_180=True)
    expected = vima.encode(
        draw.observation(episode.observations[0]),
        {"prompt": episode.prompt, "prompt_assets": draw.prompt_assets(episode.prompt_assets)},
    )
    turned = draw.observation(episode.observations[0])
    assert np.array_equal(turned["segm"]["top"], episode.observations[0]["segm"]["top"][::-1, ::-1])
    assert np.array_equal(turned["rgb"]["top"], episode.observations[0]["rgb"]["top"][:, ::-1, ::-1])
    assert np.array_equal(example.inputs.image_patches, expected.image_patches)
    assert np.array_equal(example.inputs.image_history_patches, expected.image_history_patches)
    assert not np.array_equal(example.inputs.image_patches, plain.inputs.image_patches)
    (action,) = vima.decode(vima.tokenizer.decode(example.target_ids))
    (recorded,) = vima.decode(vima.tokenizer.decode(plain.target_ids))
    assert np.allclose(
        action["pose0_position"],
        [1.0 - recorded["pose0_position"][0], -recorded["pose0_position"][1]],
        atol=2e-3,
    )
    assert np.allclose(
        action["pose1_position"],
        [1.0 - recorded["pose1_position"][0], -recorded["pose1_position"][1]],
        atol=2e-3,
    )
    for key in ("pose0_rotation", "pose1_rotation"):  # the object turns by yaw1 - yaw0: unchanged
        assert np.allclose(action[key], recorded[key])


def test_channel_permutation_is_shared_by_scene_and_prompt() -> None:
    episode = square_episode(100)
    draw = AugmentationDraw(channels=(2, 1, 0))
    obs = draw.observation(episode.observations[0])
    assets = draw.prompt_assets(episode.prompt_assets)
    assert obs["rgb"]["top"][2, 40, 110] == 250 and obs["rgb"]["top"][0, 40, 110] == 48
    assert assets["dragged_obj"]["rgb"]["top"][2, 40, 110] == 250
    assert assets["base_obj"]["rgb"]["top"][0, 60, 120] == 40
    assert np.array_equal(obs["rgb"]["front"], episode.observations[0]["rgb"]["front"])
    assert (
        draw.actions(episode.actions)[0]["pose0_position"].tolist()
        == episode.actions[0]["pose0_position"].tolist()
    )


def test_prompts_that_name_a_texture_keep_their_colours() -> None:
    assert names_a_texture("Put the red swirl object in {scene} into the wooden object.")
    assert names_a_texture("Now twist all Dark Blue objects.")
    assert not names_a_texture("Put the {dragged_obj} into the {base_obj}.")
    assert not names_a_texture("Put the {red_obj} into the bowl.")  # a placeholder name is not a word
    augmentation = TabletopAugmentation(permute_channels=1.0)
    rng = random.Random(0)
    assert all(augmentation.draw("Put the red object into {base_obj}.", rng).identity for _ in range(20))
    assert all(augmentation.draw("Put the {dragged_obj} into {base_obj}.", rng).channels for _ in range(20))


def test_turns_need_top_views_and_probabilities_are_checked() -> None:
    with pytest.raises(ValueError, match="observation_layout='top'"):
        ExampleBuilder(codec("front_over_top"), augmentation=TabletopAugmentation(rotate_180=0.5))
    ExampleBuilder(codec("front_over_top"), augmentation=TabletopAugmentation(permute_channels=0.5))
    with pytest.raises(ValueError, match="rotate_180 must be a probability"):
        TabletopAugmentation(rotate_180=1.5)


def test_augmented_examples_are_reproducible_and_mixed() -> None:
    """The same RNG gives the same example (resume replays it); half-probabilities give both kinds."""
    episode = square_episode(60)
    builder = ExampleBuilder(codec(), augmentation=TabletopAugmentation(rotate_180=0.5, permute_channels=0.5))
    first = [builder.build(episode, random.Random(k)) for k in range(16)]
    again = [builder.build(episode, random.Random(k)) for k in range(16)]
    for a, b in zip(first, again, strict=True):
        assert a.target_ids == b.target_ids
        assert np.array_equal(a.inputs.image_patches, b.inputs.image_patches)
    assert len({tuple(e.target_ids) for e in first}) == 2  # turned and not
    assert len({e.inputs.image_patches.sum().item() for e in first}) > 2  # colours permuted too
