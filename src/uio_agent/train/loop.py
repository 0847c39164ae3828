"""The trainer: examples from recorded episodes, the UIO-2 objective, checkpoints that resume exactly.

The codec, and with it the example builder, follows the episodes' environments
(:mod:`uio_agent.train.families`): VIMA plans (:mod:`uio_agent.train.examples`) or navigation next
actions (:mod:`uio_agent.train.nav_examples`); the checkpoint's ``codec.json`` names the family, so it
loads as the matching policy.

Single process by default; under ``torchrun`` (``WORLD_SIZE`` set) it runs DDP, each rank reading its
own slice of every batch, rank 0 writing. A checkpoint is a policy folder (DESIGN.md: weights, model
config, tokenizer, codec and preprocessing settings) plus ``train_state/`` (optimizer, schedule, step,
data position, RNG states), written atomically; ``resume=true`` continues from the newest one and
reproduces the losses of an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from tqdm import tqdm

from uio_agent.codecs.navigation import NavCodec
from uio_agent.codecs.vima import VimaCodec
from uio_agent.data.episode import Episode
from uio_agent.model.batch import ModelInputs
from uio_agent.model.checkpoint import CheckpointError, load_model, write_folder_atomically, write_model_files
from uio_agent.model.config import UIOConfig
from uio_agent.model.preprocess import PreprocessConfig
from uio_agent.model.uio import UIOModel
from uio_agent.train.augment import TabletopAugmentation
from uio_agent.train.examples import Example, ExampleBuilder, collate
from uio_agent.train.families import family_of
from uio_agent.train.grounding import grounding_loss, stack_covers
from uio_agent.train.init import init_from_scratch
from uio_agent.train.nav_examples import NavExampleBuilder
from uio_agent.train.objectives import LossOutput, TextObjective
from uio_agent.train.optim import build_optimizer, build_schedule, parameter_groups
from uio_agent.train.packing import packed_logits

PRECISIONS = ("bf16", "fp32")
WANDB_MODES = ("disabled", "offline", "online")


@dataclass
class TrainConfig:
    out: str
    preset: str = "small"
    #: UIOConfig field overrides on top of the preset
    model: dict[str, Any] = field(default_factory=dict)
    #: start from this checkpoint folder's weights (and codec) instead of a fresh network
    init_from: str | None = None
    scratch_init: bool = True
    #: the codec config of the episodes' family: VimaCodecConfig or NavCodecConfig fields
    codec: dict[str, Any] = field(default_factory=dict)
    steps: int = 1000
    #: stop after this many seconds of training (0: no limit); the step schedule is unchanged
    time_limit_s: float = 0.0
    batch_size: int = 32
    grad_accum: int = 1
    optimizer: str = "adamw"
    lr: float = 8e-4
    warmup: int = 100
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    z_loss: float = 1e-4
    location_sigma: float = 0.0
    #: VIMA only: weight of the prompt-grounding loss (train/grounding.py); 0 keeps the official objective
    grounding_weight: float = 0.0
    #: softmax over the ids the tokenizer can produce (exact for the project tokenizer, ~10x cheaper)
    restrict_vocab: bool = True
    precision: str = "bf16"
    packing: bool = False
    #: VIMA only: the share of examples planned from a later step
    replan_fraction: float = 0.25
    brightness_jitter: float = 0.0
    #: VIMA only (train/augment.py): share of examples turned by 180 degrees / with permuted colours
    rotate_180: float = 0.0
    permute_channels: float = 0.0
    seed: int = 0
    checkpoint_every: int = 250
    keep_checkpoints: int = 2
    log_every: int = 10
    resume: bool = False
    wandb: str = "disabled"
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.wandb not in WANDB_MODES:
            raise ValueError(f"wandb must be one of {WANDB_MODES}, got {self.wandb!r}")
        for name in (
            "steps",
            "batch_size",
            "grad_accum",
            "checkpoint_every",
            "log_every",
            "keep_checkpoints",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0 or self.grad_clip <= 0:
            raise ValueError("lr and grad_clip must be positive")
        if self.grounding_weight < 0:
            raise ValueError(f"grounding_weight must be >= 0, got {self.grounding_weight}")
        if self.grounding_weight and self.packing:
            raise ValueError(
                "grounding_weight > 0 needs packing=false: the grounding loss reads the encoder outputs "
                "of one example per row"
            )


class ExampleStream:
    """Deterministic example order: a seeded permutation of episodes per epoch, one RNG per example.
    ``position`` is all the state there is, so resuming at a position replays the same examples."""

    def __init__(
        self, episodes: Sequence[Episode], builder: ExampleBuilder | NavExampleBuilder, seed: int
    ) -> None:
        if not episodes:
            raise ValueError("no episodes to train on")
        self.episodes = episodes
        self.builder = builder
        self.seed = seed
        self.epoch = 0
        self.offset = 0
        self._order = self._permutation(0)

    def _permutation(self, epoch: int) -> list[int]:
        order = list(range(len(self.episodes)))
        random.Random(f"{self.seed}-epoch-{epoch}").shuffle(order)
        return order

    def next(self, count: int) -> list[Example]:
        out = []
        for _ in range(count):
            if self.offset == len(self._order):
                self.epoch, self.offset = self.epoch + 1, 0
                self._order = self._permutation(self.epoch)
            episode = self.episodes[self._order[self.offset]]
            rng = random.Random(f"{self.seed}-{self.epoch}-{self.offset}")
            out.append(self.builder.build(episode, rng))
            self.offset += 1
        return out

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "offset": self.offset}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.offset = int(state["epoch"]), int(state["offset"])
        self._order = self._permutation(self.epoch)


class Trainer:
    def __init__(self, config: TrainConfig, episodes: Sequence[Episode]) -> None:
        self.config = config
        self.out = Path(config.out)
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if config.device.startswith("cuda") else "gloo")
        torch.manual_seed(config.seed)
        self.device = torch.device(config.device)
        self.family = family_of(episode.env_name for episode in episodes)
        self.model, self.codec = self._build_model_and_codec()
        self.model.to(self.device).train()
        self.vocab = (
            torch.from_numpy(self.codec.tokenizer.generable_mask()).nonzero().squeeze(-1).to(self.device)
            if config.restrict_vocab
            else None
        )
        self.objective = TextObjective(self.vocab, z_loss=config.z_loss, location_sigma=config.location_sigma)
        self.optimizer = build_optimizer(
            config.optimizer, parameter_groups(self.model, config.weight_decay), config.lr
        )
        self.schedule = build_schedule(config.optimizer, self.optimizer, config.warmup, config.steps)
        builder = self._example_builder()
        for episode in episodes:
            builder.check(episode)
        self.stream = ExampleStream(episodes, builder, config.seed)
        self.step = 0
        self.train_seconds = 0.0
        self.ddp: torch.nn.parallel.DistributedDataParallel | None = None
        if self.world > 1:
            if config.packing:
                raise ValueError("packing=true is single-process for now; run DDP with packing=false")
            self.ddp = torch.nn.parallel.DistributedDataParallel(self.model)
        if config.resume:
            self._resume()

    # ------------------------------------------------------------------ setup
    def _build_model_and_codec(self) -> tuple[UIOModel, VimaCodec | NavCodec]:
        cfg, family = self.config, self.family
        if cfg.init_from:
            root = Path(cfg.init_from)
            model = load_model(root)
            try:
                codec = family.codec_class.load(root)
            except ValueError as err:
                raise CheckpointError(
                    f"init_from={root} cannot train on {family.name} episodes: {err}"
                ) from err
            for p in model.parameters():  # load_model builds on meta and assigns: make params trainable
                p.requires_grad_(True)
        else:
            model_config = UIOConfig.preset(cfg.preset, **cfg.model)
            model = UIOModel(model_config)
            if cfg.scratch_init:
                init_from_scratch(model)
            if model_config.freeze_vit:
                model.vision_transformer.requires_grad_(False)
            preprocess = PreprocessConfig.from_model_config(model_config)
            codec = family.new_codec(preprocess, cfg.codec)
        max_frames = model.config.image_history.max_frames
        if isinstance(codec, NavCodec) and codec.config.history_frames > max_frames:
            # found now rather than at the first long-enough example or when the policy loads
            raise ValueError(
                f"codec history_frames={codec.config.history_frames} exceeds the model's "
                f"image_history.max_frames={max_frames}"
            )
        return model, codec

    def _example_builder(self) -> ExampleBuilder | NavExampleBuilder:
        cfg = self.config
        augmentation = TabletopAugmentation(cfg.rotate_180, cfg.permute_channels)
        if isinstance(self.codec, NavCodec):
            if augmentation.enabled:
                raise ValueError("rotate_180 and permute_channels augment tabletop (VIMA) episodes only")
            if cfg.grounding_weight:
                raise ValueError("grounding_weight grounds VIMA prompt images; navigation episodes have none")
            return NavExampleBuilder(self.codec, brightness_jitter=cfg.brightness_jitter)
        return ExampleBuilder(
            self.codec,
            replan_fraction=cfg.replan_fraction,
            brightness_jitter=cfg.brightness_jitter,
            augmentation=augmentation,
            grounding=cfg.grounding_weight > 0,
        )

    # ------------------------------------------------------------------ one step
    def loss(self, examples: Sequence[Example]) -> LossOutput:
        autocast = (
            torch.autocast(self.device.type, dtype=torch.bfloat16)
            if self.config.precision == "bf16"
            else nullcontext()
        )
        with autocast:
            if self.config.packing:
                logits, targets = packed_logits(self.model, examples, vocab=self.vocab)
            else:
                batch = collate(examples).to(self.device)
                module = self.ddp if self.ddp is not None else self.model
                outputs = module(batch, vocab=self.vocab, with_encoder=self.config.grounding_weight > 0)
                logits = outputs["text"]
                targets = batch.targets
        assert targets.target_tokens is not None and targets.mask is not None
        out = self.objective(logits, targets.target_tokens, targets.mask)
        if not self.config.grounding_weight:
            return out
        grounding = self._grounding_loss(examples, batch.inputs, outputs["encoder"])
        return dataclasses.replace(
            out, loss=out.loss + self.config.grounding_weight * grounding, grounding=grounding
        )

    def _grounding_loss(
        self, examples: Sequence[Example], inputs: ModelInputs, encoder: torch.Tensor
    ) -> torch.Tensor:
        """train/grounding.py's loss over a batch (zero, still connected, when no prompt has images)."""
        if inputs.image_history_patches is None or inputs.image_mask is None:
            return encoder.sum() * 0.0
        frames, patches = inputs.image_history_patches.shape[1], inputs.image_mask.shape[1]
        cover = stack_covers([e.grounding for e in examples], frames, patches)
        latents = self.model.config.image_history.latents_size
        return grounding_loss(encoder, inputs.text_tokens.shape[1], inputs.image_mask, cover, latents)

    def train_step(self) -> dict[str, float]:
        cfg = self.config
        self.optimizer.zero_grad(set_to_none=True)
        totals = {"loss": 0.0, "cross_entropy": 0.0, "z_loss": 0.0, "tokens": 0.0}
        for _ in range(cfg.grad_accum):
            examples = self.stream.next(cfg.batch_size)[self.rank :: self.world]
            out = self.loss(examples)
            (out.loss / cfg.grad_accum).backward()
            totals["loss"] += float(out.loss.detach()) / cfg.grad_accum
            totals["cross_entropy"] += float(out.cross_entropy.detach()) / cfg.grad_accum
            totals["z_loss"] += float(out.z_loss.detach()) / cfg.grad_accum
            totals["tokens"] += out.tokens
            if out.grounding is not None:
                totals["grounding"] = (
                    totals.get("grounding", 0.0) + float(out.grounding.detach()) / cfg.grad_accum
                )
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        if torch.isfinite(grad_norm):
            self.optimizer.step()  # a non-finite gradient skips the update, as T5X's skip_nan_updates
        self.schedule.step()
        self.step += 1
        return {**totals, "grad_norm": float(grad_norm), "lr": float(self.schedule.get_last_lr()[0])}

    # ------------------------------------------------------------------ the loop
    def run(self) -> Path:
        """Train until ``steps`` (or the time limit); returns the final checkpoint folder."""
        cfg = self.config
        self.out.mkdir(parents=True, exist_ok=True)
        run = self._wandb()
        bar = tqdm(total=cfg.steps, initial=self.step, desc="train", unit="step", disable=self.rank != 0)
        examples_seen = 0
        window_start = time.perf_counter()
        while self.step < cfg.steps:
            if cfg.time_limit_s and self.train_seconds >= cfg.time_limit_s:
                break
            started = time.perf_counter()
            metrics = self.train_step()
            self.train_seconds += time.perf_counter() - started
            examples_seen += cfg.batch_size * cfg.grad_accum
            bar.update(1)
            if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                elapsed = time.perf_counter() - window_start
                metrics.update(
                    step=self.step, examples_per_s=examples_seen / elapsed, train_seconds=self.train_seconds
                )
                examples_seen, window_start = 0, time.perf_counter()
                self._log(metrics, run)
                bar.set_postfix(loss=f"{metrics['loss']:.3f}")
            if self.step % cfg.checkpoint_every == 0:
                self.save_checkpoint()
        bar.close()
        final = self.save_checkpoint()
        if self.rank == 0:
            (self.out / "final").write_text(final.name)
        if run is not None:
            run.finish()
        return final

    def _log(self, metrics: dict[str, float], run: Any) -> None:
        if self.rank != 0:
            return
        with (self.out / "metrics.jsonl").open("a") as f:
            f.write(json.dumps(metrics) + "\n")
        if run is not None:
            run.log(metrics, step=self.step)

    def _wandb(self) -> Any:
        if self.config.wandb == "disabled" or self.rank != 0:
            return None
        try:
            import wandb
        except ImportError as err:
            raise ImportError(
                "wandb logging needs the 'wandb' extra: pip install 'uio-agent[wandb]'"
            ) from err
        return wandb.init(
            project="uio-agent",
            dir=str(self.out),
            mode=self.config.wandb,
            config=dataclasses.asdict(self.config),
        )

    # ------------------------------------------------------------------ checkpoints
    @property
    def checkpoint_dir(self) -> Path:
        return self.out / "checkpoints"

    def save_checkpoint(self) -> Path:
        """``checkpoints/step_NNNNNNN/`` (policy folder + ``train_state/``), then the ``latest`` pointer."""
        folder = self.checkpoint_dir / f"step_{self.step:07d}"
        if self.rank != 0:
            return folder

        def write(tmp: Path) -> None:
            write_model_files(self.model, tmp, extra_config={"tokenizer_sha256": self.codec.tokenizer.sha256})
            self.codec.save(tmp)
            state = tmp / "train_state"
            state.mkdir()
            torch.save(
                {"optimizer": self.optimizer.state_dict(), "schedule": self.schedule.state_dict()},
                state / "optimizer.pt",
            )
            trainer_state = {
                "step": self.step,
                "train_seconds": self.train_seconds,
                "data": self.stream.state_dict(),
                "torch_rng": torch.get_rng_state().tolist(),
                "config": dataclasses.asdict(self.config),
            }
            (state / "trainer.json").write_text(json.dumps(trainer_state))

        write_folder_atomically(folder, write)
        pointer = self.checkpoint_dir / "latest.tmp"
        pointer.write_text(folder.name)
        pointer.replace(self.checkpoint_dir / "latest")
        old = sorted(p for p in self.checkpoint_dir.glob("step_*") if p.is_dir())[
            : -self.config.keep_checkpoints
        ]
        for path in old:
            shutil.rmtree(path)
        return folder

    def _resume(self) -> None:
        pointer = self.checkpoint_dir / "latest"
        if not pointer.is_file():
            return  # nothing to resume: start fresh
        folder = self.checkpoint_dir / pointer.read_text().strip()
        state_dir = folder / "train_state"
        try:
            trainer_state = json.loads((state_dir / "trainer.json").read_text())
            opt = torch.load(state_dir / "optimizer.pt", map_location=self.device, weights_only=True)
        except (OSError, json.JSONDecodeError, RuntimeError, EOFError) as err:
            raise CheckpointError(f"cannot resume from {state_dir}: {err}") from err
        saved = trainer_state["config"]
        for key in ("preset", "model", "batch_size", "grad_accum", "optimizer", "seed"):
            if saved.get(key) != getattr(self.config, key):
                raise CheckpointError(
                    f"cannot resume from {folder}: {key} was {saved.get(key)!r}, now {getattr(self.config, key)!r}; "
                    "use a new out= folder or the same settings"
                )
        weights = load_model(folder).state_dict()
        self.model.load_state_dict(weights)
        self.optimizer.load_state_dict(opt["optimizer"])
        self.schedule.load_state_dict(opt["schedule"])
        self.step = int(trainer_state["step"])
        self.train_seconds = float(trainer_state["train_seconds"])
        self.stream.load_state_dict(trainer_state["data"])
        torch.set_rng_state(torch.tensor(trainer_state["torch_rng"], dtype=torch.uint8))
