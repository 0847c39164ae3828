"""The trainer: it learns, resumes exactly, refuses mismatched or corrupt checkpoints; the objective's options."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from uio_agent.codecs.vima import yaw_quaternion
from uio_agent.data.episode import Episode
from uio_agent.model.checkpoint import CheckpointError
from uio_agent.train.loop import TrainConfig, Trainer
from uio_agent.train.objectives import TextObjective

TINY_MODEL = {"image_input_size": [64, 128], "image_history_input_size": [32, 32]}


def synthetic_episodes(n: int) -> list[Episode]:
    """Episodes whose target position is a function of the image (a bright square's column)."""
    rng = np.random.default_rng(0)
    episodes = []
    for k in range(n):
        col = int(rng.integers(0, 200))
        views = {v: np.zeros((3, 128, 256), dtype=np.uint8) for v in ("front", "top")}
        views["top"][:, 40:60, col : col + 20] = 255
        obs = {"rgb": views, "segm": {v: np.zeros((128, 256), np.uint8) for v in views}, "ee": 0}
        y = -0.5 + (col + 10) / 256
        action = {
            "pose0_position": np.array([0.5, y], np.float32),
            "pose0_rotation": yaw_quaternion(0.0),
            "pose1_position": np.array([0.3, -y], np.float32),
            "pose1_rotation": yaw_quaternion(0.0),
        }
        episodes.append(Episode("synthetic/task", k, [obs, obs], [action], prompt="Move the square."))
    return episodes


def config(tmp_path, **overrides) -> TrainConfig:
    base = dict(
        out=str(tmp_path),
        preset="tiny",
        model=TINY_MODEL,
        codec={"observation_layout": "top"},
        steps=6,
        batch_size=4,
        warmup=2,
        log_every=1,
        checkpoint_every=3,
        precision="fp32",
        lr=3e-3,
    )
    return TrainConfig(**{**base, **overrides})


def losses(folder) -> list[float]:
    return [json.loads(line)["loss"] for line in (folder / "metrics.jsonl").read_text().splitlines()]


def test_kill_and_resume_equals_an_uninterrupted_run(tmp_path) -> None:
    episodes = synthetic_episodes(10)
    Trainer(config(tmp_path / "straight"), episodes).run()
    interrupted = Trainer(config(tmp_path / "split"), episodes)
    first = [interrupted.train_step()["loss"] for _ in range(3)]
    interrupted.save_checkpoint()  # what run() does at step 3 ...
    interrupted.train_step()  # ... then the process dies mid-way: this step is lost
    resumed = Trainer(config(tmp_path / "split", resume=True), episodes)
    assert resumed.step == 3
    resumed.run()
    assert np.allclose(losses(tmp_path / "straight"), first + losses(tmp_path / "split"), rtol=0, atol=1e-6)
    final = (tmp_path / "split" / "final").read_text()
    assert (tmp_path / "split" / "checkpoints" / final / "train_state" / "optimizer.pt").is_file()


def test_resume_refuses_changed_settings_and_corrupt_state(tmp_path) -> None:
    episodes = synthetic_episodes(6)
    Trainer(config(tmp_path, steps=3), episodes).run()
    with pytest.raises(CheckpointError, match="batch_size"):
        Trainer(config(tmp_path, batch_size=2, resume=True), episodes)
    latest = (tmp_path / "checkpoints" / "latest").read_text()
    state = tmp_path / "checkpoints" / latest / "train_state" / "optimizer.pt"
    state.write_bytes(state.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=r"optimizer\.pt|train_state"):
        Trainer(config(tmp_path, resume=True), episodes)


def test_training_lowers_the_loss_and_checkpoints_load_as_policies(tmp_path) -> None:
    episodes = synthetic_episodes(16)
    trainer = Trainer(config(tmp_path, steps=30, checkpoint_every=30, location_sigma=5.0), episodes)
    final = trainer.run()
    curve = losses(tmp_path)
    assert np.mean(curve[-5:]) < 0.7 * np.mean(curve[:3])
    from uio_agent.agent.policy import UIOPolicy

    policy = UIOPolicy.from_pretrained(final)
    text, plan, error = policy.plan_batch([episodes[0].observations[0]], [episodes[0].info()])[0]
    assert error is None and plan is not None, text


def test_objective_vocab_restriction_is_exact_and_soft_targets_are_smooth() -> None:
    torch.manual_seed(0)
    vocab = torch.tensor([1, 5, 9, *range(32000, 33000)])
    full = torch.randn(2, 3, 33280)
    banned = torch.ones(33280, dtype=torch.bool)
    banned[vocab] = False
    masked = full.masked_fill(banned, float("-inf"))
    targets = torch.tensor([[5, 32010, 1], [9, 1, 0]])
    mask = (targets > 0).int()
    exact = TextObjective(z_loss=0.0)(masked, targets, mask)
    restricted = TextObjective(vocab, z_loss=0.0)(full[..., vocab], targets, mask)
    assert torch.allclose(exact.cross_entropy, restricted.cross_entropy, atol=1e-5)
    soft = TextObjective(vocab, z_loss=0.0, location_sigma=10.0)
    logits = torch.full((1, 1, len(vocab)), -10.0)
    near, far = logits.clone(), logits.clone()
    near[0, 0, 3 + 11] = 10.0  # id 32011: one bin away from the target id 32010
    far[0, 0, 3 + 400] = 10.0
    t = torch.tensor([[32010]])
    assert soft(near, t, torch.ones_like(t)).loss < soft(far, t, torch.ones_like(t)).loss
    with pytest.raises(ValueError, match="outside the training vocabulary"):
        TextObjective(vocab)(full[..., vocab], torch.tensor([[2, 1, 1], [1, 1, 1]]), torch.ones(2, 3))


def test_named_recipes_build_a_trainer_and_command_line_options_win(tmp_path) -> None:
    from uio_agent.configs import compose, recipe

    quick, hour = recipe("cpu_quickstart"), recipe("cpu_1h")
    assert (quick["time_limit_s"], hour["time_limit_s"]) == (780, 3600)
    assert hour["model"] == {**quick["model"], "num_encoder_layers": 5, "num_decoder_layers": 3}
    assert hour["steps"] > quick["steps"]
    assert quick["grounding_weight"] == hour["grounding_weight"] == 1.0
    assert compose("train", ["recipe=cpu_1h", "dataset=x", "out=y", "lr=5e-4"])["lr"] == 5e-4
    trainer = Trainer(TrainConfig(**{**quick, "out": str(tmp_path)}), synthetic_episodes(2))
    assert trainer.model.config.vit.num_layers == 2 and trainer.model.config.emb_dim == 192
    assert trainer.model.config.image_history_input_size == (32, 32)
    assert trainer.model.config.image_history.latents_size == 4
    assert trainer.stream.builder.augmentation.rotate_180 == 0.5
    assert not trainer.codec.config.with_instruction


def test_packed_training_takes_the_same_steps_as_padded(tmp_path) -> None:
    episodes = synthetic_episodes(8)
    padded = Trainer(config(tmp_path / "padded", steps=3, checkpoint_every=10), episodes)
    packed = Trainer(config(tmp_path / "packed", steps=3, checkpoint_every=10, packing=True), episodes)
    for _ in range(3):
        a, b = padded.train_step(), packed.train_step()
        assert abs(a["loss"] - b["loss"]) < 1e-4 * max(1.0, abs(a["loss"]))
