"""Prompt grounding: the target says which image patches each prompt object covers (after the image
input's fit-and-pad, and after augmentation), and the loss pulls a prompt frame towards those patches."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from uio_agent.codecs.vima import VimaCodec, VimaCodecConfig, yaw_quaternion
from uio_agent.data.episode import Episode
from uio_agent.envs import make_env
from uio_agent.model.config import UIOConfig
from uio_agent.model.preprocess import PreprocessConfig
from uio_agent.train.augment import AugmentationDraw
from uio_agent.train.examples import collate
from uio_agent.train.grounding import grounding_loss, patch_cover, prompt_object_cover, scene_object_id
from uio_agent.train.loop import TrainConfig, Trainer

TINY_MODEL = {"image_input_size": [64, 128], "image_history_input_size": [32, 32]}


def object_asset(name: str, color: str, kind: str = "object") -> dict:
    return {
        "placeholder_type": kind,
        "segm": {"obj_info": {"obj_id": 0, "obj_name": name, "obj_color": color}},
    }


def test_the_scene_object_is_the_one_with_the_assets_name_and_texture() -> None:
    meta = {
        "obj_id_to_info": {
            "5": {"obj_name": "bowl", "texture_name": "red"},
            6: {"obj_name": "heart", "texture_name": "red"},
            7: {"obj_name": "heart", "texture_name": "blue"},
        }
    }
    assert scene_object_id(object_asset("heart", "red"), meta) == 6
    assert scene_object_id(object_asset("bowl", "red"), meta) == 5
    assert scene_object_id(object_asset("heart", "green"), meta) is None
    assert scene_object_id(object_asset("heart", "red", kind="scene"), meta) is None
    twins = {
        "obj_id_to_info": {
            5: {"obj_name": "heart", "texture_name": "red"},
            6: {"obj_name": "heart", "texture_name": "red"},
        }
    }
    assert scene_object_id(object_asset("heart", "red"), twins) is None
    assert scene_object_id(object_asset("heart", "red"), {}) is None


def test_patch_cover_follows_the_image_inputs_fit_and_pad() -> None:
    mask = np.zeros((128, 256), dtype=bool)
    mask[:32, :32] = True  # halved to the top-left 16x16 patch of a 64x128 input
    cover = patch_cover(mask, (64, 128), 16)
    assert cover.shape == (32,)
    assert cover[0] > 0.95 and cover[1:].sum() < 0.1
    square = np.zeros((128, 128), dtype=bool)
    square[:64, :64] = (
        True  # a square image is fitted to 64x64 and centred: 32 px (2 patches) of padding left
    )
    cover = patch_cover(square, (64, 128), 16).reshape(4, 8)
    assert torch.allclose(cover[:2, 2:4], torch.ones(2, 2), atol=0.05)
    assert cover.sum() == pytest.approx(4.0, abs=0.1)


def tiny_codec() -> VimaCodec:
    model = UIOConfig.preset("tiny", **TINY_MODEL)
    return VimaCodec(
        preprocess=PreprocessConfig.from_model_config(model),
        config=VimaCodecConfig(observation_layout="top", with_instruction=False),
    )


def test_prompt_cover_finds_the_tasks_objects_in_a_rendered_scene_and_turns_with_it() -> None:
    env = make_env("tabletop/visual_manipulation@L1")
    obs, info = env.reset(seed=3)
    task = env.unwrapped.task
    meta = env.unwrapped.meta_info
    env.close()
    codec = tiny_codec()
    cover = prompt_object_cover(codec, obs, info, meta)
    _, order = codec.prompt_text(info["prompt"])
    assert cover.shape == (len(order), 32)
    segm = obs["segm"]["top"]
    for frame, name in enumerate(order):
        assert cover[frame].sum() == pytest.approx(1.0, abs=1e-5)
        # the densest patch holds the object the task put behind this placeholder
        rows, cols = np.nonzero(segm == task.placeholders[name].obj_id)
        assert rows.size > 20
        patch = int(cover[frame].argmax())
        r, c = divmod(patch, 8)
        inside = (rows // 32 == r) & (cols // 32 == c)
        assert inside.mean() > 0.2, f"{name}: the densest patch holds {inside.mean():.0%} of the object"
    draw = AugmentationDraw(rotate_180=True)
    turned_info = {**info, "prompt_assets": draw.prompt_assets(info["prompt_assets"])}
    turned = prompt_object_cover(codec, draw.observation(obs), turned_info, meta)
    expected = cover.reshape(len(order), 4, 8).flip(1, 2).reshape(len(order), 32)
    assert torch.allclose(turned, expected, atol=1e-5)


def test_grounding_loss_is_the_cross_entropy_of_frames_over_patches() -> None:
    torch.manual_seed(0)
    text, patches, frames, latents, d = 3, 4, 2, 2, 8
    hidden = torch.randn(2, text + patches + frames * latents, d, requires_grad=True)
    image_mask = torch.ones(2, patches, dtype=torch.int32)
    image_mask[0, 3] = 0
    cover = torch.zeros(2, frames, patches)
    cover[0, 0, 1] = 1.0  # example 0: frame 0 covers patch 1, frame 1 has no target
    cover[1, 0, 2:] = 0.5
    cover[1, 1, 0] = 1.0
    loss = grounding_loss(hidden, text, image_mask, cover, latents)
    expected = []
    for b, f in [(0, 0), (1, 0), (1, 1)]:
        start = text + patches + f * latents
        z = hidden[b, start : start + latents].mean(0)
        scores = hidden[b, text : text + patches] @ z / math.sqrt(d)
        scores = scores.masked_fill(image_mask[b] == 0, float("-inf"))
        expected.append(-(cover[b, f] * scores.log_softmax(0).nan_to_num(neginf=0.0)).sum())
    assert loss.item() == pytest.approx(torch.stack(expected).mean().item(), rel=1e-6)
    loss.backward()
    assert hidden.grad is not None
    assert hidden.grad[:, :text].abs().max() == 0  # text is not part of the matching
    frame1 = text + patches + latents
    assert hidden.grad[0, frame1 : frame1 + latents].abs().max() == 0  # no target, no gradient
    assert hidden.grad[0, text + 3].abs().max() == 0  # a padding patch
    assert hidden.grad[1, text : text + patches].abs().max() > 0


def test_a_prompt_frame_that_looks_like_its_patch_has_a_small_loss() -> None:
    d = 16
    scene = torch.eye(d)[:4] * 6.0
    prompt = scene[[2, 2]]  # both latents of the frame equal patch 2's features
    hidden = torch.cat([scene, prompt])[None]
    mask = torch.ones(1, 4, dtype=torch.int32)
    right, wrong = torch.zeros(1, 1, 4), torch.zeros(1, 1, 4)
    right[0, 0, 2], wrong[0, 0, 0] = 1.0, 1.0
    assert grounding_loss(hidden, 0, mask, right, 2) < 0.01 < 5.0 < grounding_loss(hidden, 0, mask, wrong, 2)


def named_episode(seed: int) -> Episode:
    """A red square (scene id 5) and a blue base (id 6) whose prompt crops name them as VIMA does."""
    rng = np.random.default_rng(seed)
    col = int(rng.integers(0, 200))
    top = np.full((3, 128, 256), 48, dtype=np.uint8)
    top[0, 20:40, col : col + 20] = 250
    top[2, 70:100, 100:140] = 200
    segm = np.zeros((128, 256), dtype=np.uint8)
    segm[20:40, col : col + 20] = 5
    segm[70:100, 100:140] = 6

    def crop(obj_id: int, name: str, color: str) -> dict:
        return {
            "rgb": {"top": top, "front": top},
            "segm": {
                "top": segm,
                "front": segm,
                "obj_info": {"obj_id": obj_id, "obj_name": name, "obj_color": color},
            },
            "placeholder_type": "object",
        }

    assets = {"dragged_obj": crop(5, "block", "red"), "base_obj": crop(6, "pan", "blue")}
    obs = {"rgb": {"top": top, "front": top}, "segm": {"top": segm, "front": segm}, "ee": 0}
    action = {
        "pose0_position": np.array([0.3, -0.5 + (col + 10) / 256], np.float32),
        "pose0_rotation": yaw_quaternion(0.0),
        "pose1_position": np.array([0.6, 0.0], np.float32),
        "pose1_rotation": yaw_quaternion(0.0),
    }
    meta = {
        "end_effector_type": "suction",
        "obj_id_to_info": {
            5: {"obj_name": "block", "texture_name": "red"},
            6: {"obj_name": "pan", "texture_name": "blue"},
        },
    }
    prompt = "Put the {dragged_obj} into the {base_obj}."
    return Episode(
        "tabletop/visual_manipulation@L1", seed, [obs, obs], [action], prompt, assets, meta_info=meta
    )


def grounding_config(tmp_path, **overrides) -> TrainConfig:
    base = dict(
        out=str(tmp_path),
        preset="tiny",
        model=TINY_MODEL,
        codec={"observation_layout": "top", "with_instruction": False},
        steps=2,
        batch_size=4,
        warmup=1,
        checkpoint_every=10,
        precision="fp32",
        grounding_weight=0.5,
        rotate_180=0.5,
    )
    return TrainConfig(**{**base, **overrides})


def test_the_trainer_adds_the_weighted_grounding_loss(tmp_path) -> None:
    trainer = Trainer(grounding_config(tmp_path), [named_episode(k) for k in range(6)])
    examples = trainer.stream.next(4)
    assert all(
        e.grounding is not None and torch.allclose(e.grounding.sum(-1), torch.ones(2)) for e in examples
    )
    out = trainer.loss(examples)
    assert out.grounding is not None and out.grounding.item() > 0
    assert out.loss.item() == pytest.approx(
        (out.cross_entropy + out.z_loss + 0.5 * out.grounding).item(), rel=1e-6
    )
    # the layout the loss reads: text, then the image patches, then each frame's latents
    inputs = collate(examples).inputs
    model = trainer.model
    sequence = model.embed_inputs(inputs)
    text, patches = inputs.text_tokens.shape[1], inputs.image_patches.shape[1]
    frames, latents = inputs.image_history_patches.shape[1], model.config.image_history.latents_size
    assert sequence.embed.shape[1] == text + patches + frames * latents
    image = model.input_embedders["image"](inputs.image_patches, inputs.image_mask, inputs.image_pos_ids)
    assert torch.equal(sequence.embed[:, text : text + patches], image.embed)
    metrics = trainer.train_step()
    assert metrics["grounding"] > 0
    plain = Trainer(grounding_config(tmp_path / "plain", grounding_weight=0.0), [named_episode(0)])
    assert plain.loss(plain.stream.next(2)).grounding is None


def test_grounding_settings_are_checked(tmp_path) -> None:
    with pytest.raises(ValueError, match="grounding_weight must be >= 0"):
        grounding_config(tmp_path, grounding_weight=-1.0)
    with pytest.raises(ValueError, match="packing=false"):
        grounding_config(tmp_path, packing=True)
