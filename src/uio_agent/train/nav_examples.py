"""Navigation episodes -> training examples: "the action at step ``t``", as the policy sees step ``t``.

An example of step ``t`` is what :class:`~uio_agent.agent.nav_policy.UIONavPolicy` feeds the model at
that step: the prompt built from ``obs[t]`` and ``info[t]``, the frame ``obs[t]["rgb"]`` as the image
input, and the history window — the last ``history_frames`` steps ``k < t``, oldest first, each with its
pose relative to the episode start (``info[0]``), the action taken there, and its frame as one
image-history frame. The target is the phrase of ``actions[t]``. Poses come from the episode's per-step
infos (:mod:`uio_agent.data.step_infos`).

``t`` is drawn uniformly over the episode's ``T`` steps, so every action of an episode (its final stop
or end included) is equally likely. Each episode is visited once per epoch, so an example is as likely
to come from a short episode as from a long one. The next-action phrase is sampled per example from the
19 official ones (the policy uses the fixed ``NavCodecConfig.phrase``).

Frame preprocessing (the costly part) runs once per ``(episode, step)``, as image input and as a history
frame, and is cached; an example assembles the cached patches. A step costs
``(P_input + P_history) * 3 * patch_size**2 * 4`` bytes (61 KB at ``tiny``'s 64/32 px, 2.6 MB at 384/256
px), so the cache is bounded (``cache_mb``, least recently used steps dropped first).
"""

from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass

import torch

from uio_agent.codecs.navigation import NavCodec, NavStep
from uio_agent.codecs.prompts import NEXT_ACTION_PHRASES
from uio_agent.data.episode import Episode
from uio_agent.model.batch import ModelInputs
from uio_agent.model.preprocess import ImagePatches
from uio_agent.train.examples import Example, brightness_scale, check_brightness_jitter


class MissingStepInfoError(ValueError):
    """A navigation episode lacks the per-step infos (agent poses) its codec reads."""


@dataclass
class _Frame:
    """One step's frame, preprocessed as image input [1, P, D] and as a history frame [1, 1, P, D]."""

    image: ImagePatches
    history: ImagePatches

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for p in (self.image, self.history) for t in (p.patches, p.mask, p.pos_ids))


class NavExampleBuilder:
    """Builds :class:`Example`s from navigation :class:`Episode`s with a PointNav or ObjectNav codec."""

    def __init__(self, codec: NavCodec, *, brightness_jitter: float = 0.0, cache_mb: float = 4096.0) -> None:
        if cache_mb < 0:
            raise ValueError(f"cache_mb must be >= 0 (0: no cache), got {cache_mb}")
        self.codec = codec
        self.brightness_jitter = check_brightness_jitter(brightness_jitter)
        self.cache_bytes = int(cache_mb * 2**20)
        self._cache: OrderedDict[tuple[str, int, int], _Frame] = OrderedDict()
        self._cached_bytes = 0

    def check(self, episode: Episode) -> None:
        """Raise when ``episode`` cannot give examples: no actions, or no per-step pose infos."""
        if episode.num_steps == 0:
            raise ValueError(f"episode {episode.env_name} seed {episode.seed} has no actions to learn from")
        recorded = episode.step_infos[0] if episode.step_infos else {}
        missing = [key for key in self.codec.pose_keys if key not in recorded]
        if missing:
            raise MissingStepInfoError(
                f"episode {episode.env_name} seed {episode.seed} has no per-step info {missing}: "
                f"{self.codec.family} training needs the agent pose at every step. Datasets keep it since "
                "format 2 (infos/steps); collect the episodes again with this uio-agent"
            )

    def choose_step(self, episode: Episode, rng: random.Random) -> int:
        return rng.randrange(episode.num_steps)

    def history(self, episode: Episode, t: int) -> list[NavStep]:
        """The window the policy holds at step ``t``: the last ``history_frames`` steps before ``t``."""
        start = episode.step_infos[0]
        first = max(0, t - self.codec.config.history_frames)
        return [
            NavStep(self.codec.relative_pose(start, episode.step_infos[k]), int(episode.actions[k]))
            for k in range(first, t)
        ]

    def build(self, episode: Episode, rng: random.Random, t: int | None = None) -> Example:
        self.check(episode)
        step = self.choose_step(episode, rng) if t is None else t
        if not 0 <= step < episode.num_steps:
            raise ValueError(f"t={step} is outside the episode's {episode.num_steps} steps")
        entries = self.history(episode, step)
        phrase = rng.choice(NEXT_ACTION_PHRASES)
        text = self.codec.prompt_text(episode.observations[step], episode.step_infos[step], entries, phrase)
        scale = brightness_scale(self.brightness_jitter, rng)
        current = self._frame(episode, step).image
        inputs = ModelInputs(
            text_tokens=torch.tensor([self.codec.tokenizer.encode(text)], dtype=torch.long),
            image_patches=current.patches * scale,
            image_mask=current.mask,
            image_pos_ids=current.pos_ids,
        )
        if entries:
            frames = [self._frame(episode, k).history for k in range(step - len(entries), step)]
            inputs.image_history_patches = torch.cat([f.patches for f in frames], dim=1) * scale
            inputs.image_history_mask = torch.cat([f.mask for f in frames], dim=1)
            inputs.image_history_pos_ids = torch.cat([f.pos_ids for f in frames], dim=1)
        target = self.codec.target(episode.as_target_source(), step)
        return Example(inputs, self.codec.tokenizer.encode(target), (episode.env_name, episode.seed, step))

    def _frame(self, episode: Episode, step: int) -> _Frame:
        key = (episode.env_name, episode.seed, step)
        frame = self._cache.get(key)
        if frame is not None:
            self._cache.move_to_end(key)
            return frame
        rgb = episode.observations[step]["rgb"]
        frame = _Frame(self.codec.image_input([rgb]), self.codec.history_frame_patches([rgb]))
        if frame.nbytes <= self.cache_bytes:
            self._cache[key] = frame
            self._cached_bytes += frame.nbytes
            while self._cached_bytes > self.cache_bytes:
                self._cached_bytes -= self._cache.popitem(last=False)[1].nbytes
        return frame
