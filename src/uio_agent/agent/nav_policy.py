"""UIO-2 as a navigation policy (PointNav, ObjectNav): one action phrase per step from the observation,
the current frame and a sliding window of history frames (``codecs/navigation.py`` for the text format,
``codecs/pointnav.py`` and ``codecs/objectnav.py`` for each task's part).

Each frame the agent sees is embedded once (ViT + resampler, ``UIOModel.embed_history_frames``) when
the action taken from it is known, and kept in the environment's state with its pose and action;
later steps pass the cached embeddings as ``ModelInputs.image_history_features``, so a window of K
frames costs one new frame embedding per step instead of K. All environments of a batch share one
model call for the history embeddings and one for generation.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from uio_agent.agent.policy import CheckpointPolicy, GenerationSettings, Policy
from uio_agent.codecs.grammar import ActionParseError
from uio_agent.codecs.navigation import NavCodec, NavPose, NavStep
from uio_agent.codecs.objectnav import ObjectNavCodec
from uio_agent.codecs.pointnav import PointNavCodec
from uio_agent.envs.nav import motion, thor
from uio_agent.model.batch import ModelInputs
from uio_agent.model.generate import generate
from uio_agent.model.uio import UIOModel


@dataclass
class NavState:
    """Per-environment state: the start pose and the history window with cached frame embeddings."""

    start_info: dict[str, Any]
    #: history entries (pose and action; ``frame`` is None: the embedding is in ``features``)
    history: list[NavStep] = field(default_factory=list)
    #: one [latents, d] embedding per history entry (on the policy's device)
    features: list[Tensor] = field(default_factory=list)
    plans_made: int = 0
    steps_taken: int = 0
    frames_embedded: int = 0
    last_text: str = ""
    stop_reason: str | None = None


class UIONavPolicy(CheckpointPolicy):
    """UIO-2 acting step by step in PointNav environments (embedded ``pointnav`` or ``habitat``); the
    task is the codec's, so :class:`UIOObjectNavPolicy` differs only in the codec it loads."""

    codec: NavCodec
    codec_class: ClassVar[type[NavCodec]] = PointNavCodec

    def __init__(
        self,
        model: UIOModel,
        codec: NavCodec,
        *,
        generation: GenerationSettings | None = None,
        device: str | torch.device = "cpu",
        seed: int = 0,
    ) -> None:
        super().__init__(model, codec, generation=generation, device=device, seed=seed)
        max_frames = model.config.image_history.max_frames
        if codec.config.history_frames > max_frames:
            raise ValueError(
                f"codec history_frames={codec.config.history_frames} exceeds the model's "
                f"image_history.max_frames={max_frames}"
            )

    # ------------------------------------------------------------------ acting
    def initial_state(self, info: Mapping[str, Any]) -> NavState:
        """The start pose is kept (copied: history poses are relative to it)."""
        return NavState(start_info={k: copy.deepcopy(info[k]) for k in self.codec.pose_keys if k in info})

    def _history_features(self, states: Sequence[NavState]) -> tuple[Tensor | None, Tensor | None]:
        """Cached windows stacked to [B, F, latents, d] with a [B, F] frame mask (None: no history yet)."""
        frames = max(len(s.features) for s in states)
        if frames == 0:
            return None, None
        cfg = self.model.config
        first = next(f for s in states for f in s.features)
        features = first.new_zeros(len(states), frames, cfg.image_history.latents_size, cfg.emb_dim)
        mask = torch.zeros(len(states), frames, dtype=torch.int32, device=first.device)
        for row, state in enumerate(states):
            if state.features:
                features[row, : len(state.features)] = torch.stack(state.features)
                mask[row, : len(state.features)] = 1
        return features, mask

    @torch.no_grad()
    def embed_frames(self, frames: Sequence[np.ndarray]) -> Tensor:
        """[N, latents, d] history embeddings of N frames (H, W, 3), in one model call."""
        patches = self.codec.history_frame_patches(frames)
        embedded = self.model.embed_history_frames(
            patches.patches[:, 0].to(self.device),
            patches.mask[:, 0].to(self.device),
            patches.pos_ids[:, 0].to(self.device),
        )
        return embedded

    @torch.no_grad()
    def act_batch(
        self,
        obs: Sequence[Mapping[str, Any]],
        infos: Sequence[Mapping[str, Any]],
        states: Sequence[NavState],
    ) -> tuple[list[Any], list[NavState]]:
        """Discrete action ids (``None`` where the episode must end: see ``state.stop_reason``)."""
        states = list(states)
        actions: list[Any] = [None] * len(states)
        rows: list[int] = []
        texts: list[str] = []
        poses: list[NavPose] = []
        frames: list[np.ndarray] = []
        for i, state in enumerate(states):
            if state.stop_reason is not None:
                continue
            try:
                pose = self.codec.relative_pose(state.start_info, infos[i])
                text = self.codec.prompt_text(obs[i], infos[i], state.history)
                frame = np.asarray(obs[i]["rgb"])
            except (KeyError, ValueError) as err:
                state.stop_reason = f"cannot encode the observation: {err}"
                continue
            rows.append(i)
            poses.append(pose)
            texts.append(text)
            frames.append(frame)
        if not rows:
            return actions, states
        generated = self._generate(frames, texts, [states[i] for i in rows])
        acting: list[tuple[int, NavPose, np.ndarray]] = []
        for i, pose, text, frame in zip(rows, poses, generated, frames, strict=True):
            state = states[i]
            state.plans_made += 1
            state.last_text = text
            try:
                actions[i] = self.codec.decode(text)
            except ActionParseError as err:
                state.stop_reason = f"unparsable action: {err}"
                continue
            state.steps_taken += 1
            acting.append((i, pose, frame))
        if acting and self.codec.config.history_frames > 0:
            embedded = self.embed_frames([frame for _, _, frame in acting])
            for row, (i, pose, _) in enumerate(acting):
                self._remember(states[i], NavStep(pose, int(actions[i])), embedded[row])
        return actions, states

    def model_inputs(
        self, frames: Sequence[np.ndarray], texts: Sequence[str], states: Sequence[NavState]
    ) -> ModelInputs:
        """The batch for current ``frames`` and prompt ``texts``, history as the states' cached embeddings."""
        image = self.codec.image_input(frames)
        text = ModelInputs.collate(
            [ModelInputs(torch.tensor([self.codec.tokenizer.encode(t)], dtype=torch.long)) for t in texts]
        )
        features, frame_mask = self._history_features(states)
        return ModelInputs(
            text_tokens=text.text_tokens,
            text_mask=text.text_mask,
            image_patches=image.patches,
            image_mask=image.mask,
            image_pos_ids=image.pos_ids,
            image_history_features=features,
            image_history_frame_mask=frame_mask,
        )

    def _generate(
        self, frames: Sequence[np.ndarray], texts: Sequence[str], states: Sequence[NavState]
    ) -> list[str]:
        """One (constrained) generation for every row."""
        settings = self.generation
        result = generate(
            self.model,
            self.model_inputs(frames, texts, states).to(self.device),
            max_new_tokens=self.codec.max_output_tokens(),
            method=settings.method,
            num_beams=settings.num_beams,
            top_p=settings.top_p,
            temperature=settings.temperature,
            allowed_tokens=self.codec.grammar().allowed_tokens() if settings.constrained else None,
            banned_tokens=self.banned,
            generator=self.generator,
        )
        return [self.codec.tokenizer.decode(ids, stop_at_eos=True) for ids in result.tokens.tolist()]

    def _remember(self, state: NavState, step: NavStep, feature: Tensor) -> None:
        """Append one entry to the window and drop what falls out of it."""
        window = self.codec.config.history_frames
        state.history.append(step)
        state.features.append(feature)
        state.frames_embedded += 1
        del state.history[:-window], state.features[:-window]


class UIOObjectNavPolicy(UIONavPolicy):
    """UIO-2 acting step by step in ObjectNav environments (embedded ``objectnav`` or ``thor``)."""

    codec_class = ObjectNavCodec


@dataclass(frozen=True)
class WalkActions:
    """The action ids a random walk uses: one forward move, two turns, the episode end, optional looks."""

    count: int
    forward: int
    turns: tuple[int, int]
    stop: int
    looks: tuple[int, ...] = ()


POINTNAV_WALK = WalkActions(4, motion.MOVE_FORWARD, (motion.TURN_LEFT, motion.TURN_RIGHT), motion.STOP)
OBJECTNAV_WALK = WalkActions(
    6, thor.MOVE_AHEAD, (thor.ROTATE_LEFT, thor.ROTATE_RIGHT), thor.END, (thor.LOOK_UP, thor.LOOK_DOWN)
)


@dataclass
class WalkState:
    rng: np.random.Generator
    steps_taken: int = 0
    stop_reason: str | None = None


class RandomWalkPolicy(Policy):
    """A random walk that does not end its episode: the forward move with probability ``forward``, a look
    up / down with ``look`` (ObjectNav), the end action with ``stop`` (0 unless asked), else a turn.

    Episodes run to the step budget, which is what next-frame / next-action data want (UIO-2's random
    trajectories); a uniform policy STOPs after about four PointNav steps (six ObjectNav steps).
    Reproducible per (policy seed, episode seed), like :class:`RandomPolicy`.
    """

    def __init__(
        self,
        seed: int = 0,
        forward: float = 0.5,
        *,
        look: float = 0.1,
        stop: float = 0.0,
        actions: WalkActions = POINTNAV_WALK,
    ) -> None:
        look = look if actions.looks else 0.0
        for name, value in (("forward", forward), ("look", look), ("stop", stop)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value}")
        turn = 1.0 - forward - look - stop
        if turn < -1e-12:
            raise ValueError(f"forward + look + stop must be <= 1, got {forward} + {look} + {stop}")
        self.seed = seed
        self.actions = actions
        self.probabilities = np.zeros(actions.count)
        self.probabilities[actions.forward] = forward
        self.probabilities[actions.stop] = stop
        self.probabilities[list(actions.turns)] = max(turn, 0.0) / 2
        if actions.looks:
            self.probabilities[list(actions.looks)] = look / len(actions.looks)

    def initial_state(self, info: Mapping[str, Any]) -> WalkState:
        episode_seed = int(info.get("episode_seed", info.get("seed", 0)) or 0)
        return WalkState(np.random.default_rng([self.seed, episode_seed]))

    def act_batch(
        self,
        obs: Sequence[Mapping[str, Any]],
        infos: Sequence[Mapping[str, Any]],
        states: Sequence[WalkState],
    ) -> tuple[list[Any], list[WalkState]]:
        actions: list[Any] = []
        for state in states:
            actions.append(int(state.rng.choice(self.actions.count, p=self.probabilities)))
            state.steps_taken += 1
        return actions, list(states)
