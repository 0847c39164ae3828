"""Recorded VIMA episodes -> training examples (model inputs + target token ids), and batches of them.

A VIMA example is "plan from step ``t``": the observation at ``t``, the prompt, and the remaining
actions as the target plan. ``t = 0`` is UIO-2's open-loop protocol; later ``t`` teach the re-planning
the policy does when a plan runs out (``replan_fraction`` of the examples). Instructions are sampled
from the official list per example. Image preprocessing is cached per ``(episode, t)`` for examples
that :mod:`uio_agent.train.augment` leaves as recorded; a transformed example is encoded afresh.
With ``grounding=True`` an example also carries where each prompt object lies among the image
patches, the target of :mod:`uio_agent.train.grounding`. Navigation episodes have their own builder
(:mod:`uio_agent.train.nav_examples`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from uio_agent.codecs.prompts import vima_instructions
from uio_agent.codecs.vima import VimaCodec
from uio_agent.data.episode import Episode
from uio_agent.model.batch import PAD_ID, Batch, ModelInputs, TextTargets
from uio_agent.train.augment import AugmentationDraw, TabletopAugmentation
from uio_agent.train.grounding import prompt_object_cover


@dataclass
class Example:
    inputs: ModelInputs
    target_ids: list[int]
    #: (env name, seed, t): where the example comes from
    source: tuple[str, int, int]
    #: [frames, patches] prompt-object cover (train/grounding.py), when the builder computes it
    grounding: torch.Tensor | None = None

    @property
    def decoder_length(self) -> int:
        return len(self.target_ids)


class ExampleBuilder:
    """Builds :class:`Example`s from :class:`Episode`s with a VIMA codec."""

    def __init__(
        self,
        codec: VimaCodec,
        *,
        replan_fraction: float = 0.25,
        brightness_jitter: float = 0.0,
        augmentation: TabletopAugmentation | None = None,
        grounding: bool = False,
        cache: bool = True,
    ) -> None:
        if not 0.0 <= replan_fraction <= 1.0:
            raise ValueError(f"replan_fraction must be in [0, 1], got {replan_fraction}")
        self.augmentation = augmentation or TabletopAugmentation()
        self.augmentation.check_codec(codec.config)
        self.codec = codec
        self.replan_fraction = replan_fraction
        self.brightness_jitter = check_brightness_jitter(brightness_jitter)
        self.grounding = grounding
        self._cache: dict[tuple[str, int, int], tuple[ModelInputs, torch.Tensor | None]] | None = (
            {} if cache else None
        )

    def choose_step(self, episode: Episode, rng: random.Random) -> int:
        if episode.num_steps > 1 and rng.random() < self.replan_fraction:
            return rng.randrange(1, episode.num_steps)
        return 0

    def check(self, episode: Episode) -> None:
        """Raise when ``episode`` cannot give examples (no actions)."""
        if episode.num_steps == 0:
            raise ValueError(f"episode {episode.env_name} seed {episode.seed} has no actions to learn from")

    def build(self, episode: Episode, rng: random.Random, t: int | None = None) -> Example:
        self.check(episode)
        step = self.choose_step(episode, rng) if t is None else t
        key = (episode.env_name, episode.seed, step)
        draw = self.augmentation.draw(episode.prompt, rng)
        encoded = self._cache.get(key) if self._cache is not None and draw.identity else None
        if encoded is None:
            encoded = self._encode(episode, step, draw)
            if self._cache is not None and draw.identity:
                self._cache[key] = encoded
        images, cover = encoded
        # the instruction is sampled per example: re-encode only the text
        text, _ = self.codec.prompt_text(episode.prompt, rng.choice(vima_instructions()))
        inputs = ModelInputs(
            text_tokens=torch.tensor([self.codec.tokenizer.encode(text)], dtype=torch.long),
            image_patches=self._jitter(images.image_patches, rng),
            image_mask=images.image_mask,
            image_pos_ids=images.image_pos_ids,
            image_history_patches=images.image_history_patches,
            image_history_mask=images.image_history_mask,
            image_history_pos_ids=images.image_history_pos_ids,
        )
        source = episode.as_target_source()
        target = self.codec.target({**source, "actions": draw.actions(source["actions"])}, step)
        return Example(inputs, self.codec.tokenizer.encode(target), key, cover)

    def _encode(
        self, episode: Episode, step: int, draw: AugmentationDraw
    ) -> tuple[ModelInputs, torch.Tensor | None]:
        """Image inputs of step ``step`` (transformed by ``draw``) and, with grounding, the prompt cover."""
        info, observation = episode.info(), episode.observations[step]
        if not draw.identity:
            info = {**info, "prompt_assets": draw.prompt_assets(info["prompt_assets"])}
            observation = draw.observation(observation)
        inputs = self.codec.encode(observation, info)
        if not self.grounding:
            return inputs, None
        return inputs, prompt_object_cover(self.codec, observation, info, episode.meta_info)

    def _jitter(self, patches: torch.Tensor | None, rng: random.Random) -> torch.Tensor | None:
        if patches is None:
            return patches
        scale = brightness_scale(self.brightness_jitter, rng)
        return patches if scale == 1.0 else patches * scale


def check_brightness_jitter(amount: float) -> float:
    if not 0.0 <= amount < 1.0:
        raise ValueError(f"brightness_jitter must be in [0, 1), got {amount}")
    return amount


def brightness_scale(amount: float, rng: random.Random) -> float:
    """Brightness jitter in normalised pixel space: a scale about the CLIP mean, drawn from ``rng``
    (no draw when ``amount`` is 0)."""
    return 1.0 if amount == 0.0 else 1.0 + rng.uniform(-amount, amount)


def collate(examples: Sequence[Example]) -> Batch:
    """A padded batch: inputs via :meth:`ModelInputs.collate`, targets padded with PAD (masked out)."""
    if not examples:
        raise ValueError("collate needs at least one example")
    length = max(e.decoder_length for e in examples)
    targets = torch.full((len(examples), length), PAD_ID, dtype=torch.long)
    for row, example in enumerate(examples):
        targets[row, : example.decoder_length] = torch.tensor(example.target_ids)
    return Batch(ModelInputs.collate([e.inputs for e in examples]), TextTargets.from_targets(targets))


def padding_fraction(lengths: Sequence[int]) -> float:
    """Fraction of a batch padded to its longest member that is padding."""
    if not lengths:
        return 0.0
    total = max(lengths) * len(lengths)
    return float(1.0 - np.sum(lengths) / total)
