"""Step-wise navigation <-> UIO-2: what every navigation task shares in UIO-2's next-action format
(``reference/uio2-architecture.md`` §9.2).

The official preprocessor is unreleased; the task codecs (``pointnav.py``, ``objectnav.py``) fill the
released template and document their choices. This module holds the common part, so the formats
cannot drift apart::

    "[Text] [S] " + <next-action phrase> + " " + POINTNAV_DESC(OBS=<observation>, ACTIONS=<action space>)
    [+ " History: " + " ".join(<image_history_k> ( x z y ) <action>  for k = 1..K)]

* ``<next-action phrase>``: one of the 19 official ``NEXT_ACTION_PHRASES`` (fixed at evaluation by
  :attr:`NavCodecConfig.phrase`, sampled in training when ``encode`` gets an ``rng``).
* ``<observation>`` (``{#OBS}``): a sentence from the task codec (:meth:`NavCodec.observation_text`).
* ``<action space>`` (``{#action_space}``): the task's action phrases in action-id order. A phrase is
  the benchmark's action name with its words split and lower-cased (:func:`name_words`:
  habitat's ``MOVE_FORWARD`` -> ``move forward``, THOR's ``RotateLeft`` -> ``rotate left``).
* History: the last ``K <= history_frames`` steps, oldest first. Entry ``k`` is the frame seen at that
  step (image-history slot ``k``), the agent's pose at that step and the action it took there. The pose
  is **relative to the episode's start pose, in the start's frame** (habitat's GPS+compass convention:
  ``x`` to the start's right, ``z`` behind the start, the start facing −z) in metres, and the heading
  change ``yaw`` (counter-clockwise = turned left, positive) as ``(yaw° mod 360) / 360``. x and z map
  ``[-POSITION_RANGE, +POSITION_RANGE]`` = [−25, 25] m linearly onto [0, 1] (one bin ≈ 5 cm, the navmesh
  cell); values outside are clipped. Each value is a location token ``<extra_id_{200 + int(v*999)}>``.
* Image input: the current ``rgb`` frame.

Output: one action phrase and EOS, decoded to the action id; :meth:`NavCodec.grammar` admits exactly
the task's action sentences.
"""

from __future__ import annotations

import abc
import dataclasses
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import torch

from uio_agent.codecs.files import read_codec_files, save_codec_files
from uio_agent.codecs.grammar import ActionParseError, TokenGrammar
from uio_agent.codecs.prompts import NEXT_ACTION_PHRASES, POINTNAV_DESC
from uio_agent.model.batch import ModelInputs
from uio_agent.model.preprocess import ImagePatches, ImagePreprocessor, PreprocessConfig
from uio_agent.model.tokenizer import MAX_HISTORY_FRAMES, Tokenizer, image_history_token, location_token

#: start-relative x and z are written over [-POSITION_RANGE, POSITION_RANGE] metres
POSITION_RANGE = 25.0
HISTORY_HEADER = "History:"
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z])(?=[A-Z])")


def name_words(text: str) -> str:
    """The words of a benchmark name or model output, lower-cased: ``MOVE_FORWARD``, ``MoveAhead`` and
    ``" move  ahead "`` become ``move forward``, ``move ahead`` and ``move ahead``."""
    return " ".join(_CAMEL_BOUNDARY.sub(" ", text).replace("_", " ").split()).lower()


@dataclass(frozen=True)
class AgentPose:
    """A pose in our world frame (habitat's: y up, yaw counter-clockwise, 0 facing −z): the floor point
    ``x``, ``z`` in metres and ``yaw`` in radians."""

    x: float
    z: float
    yaw: float


@dataclass(frozen=True)
class NavPose:
    """Start-relative pose: ``x`` right of the start, ``z`` behind it (metres), ``yaw`` turned left (radians)."""

    x: float
    z: float
    yaw: float

    @classmethod
    def relative(cls, start: AgentPose, pose: AgentPose) -> NavPose:
        """``pose`` in the frame of ``start``."""
        dx, dz = pose.x - start.x, pose.z - start.z
        # rotate the world offset by -start.yaw about +y: the start's right is x, its back is z
        c, s = math.cos(start.yaw), math.sin(start.yaw)
        return cls(c * dx - s * dz, s * dx + c * dz, pose.yaw - start.yaw)


@dataclass
class NavStep:
    """One history entry: what the agent saw (``frame``, (H, W, 3) uint8; ``None`` when the caller passes
    cached embeddings instead), where it was, and the action it took there."""

    pose: NavPose
    action: int
    frame: np.ndarray | None = None


@dataclass
class NavCodecConfig:
    """Choices that change the model's input or output text; saved in ``codec.json`` with the family."""

    #: index into ``NEXT_ACTION_PHRASES`` used at evaluation; training samples uniformly
    phrase: int = 0
    #: history entries kept (UIO-2's image history holds at most 8; 4 is the official default)
    history_frames: int = 4

    def __post_init__(self) -> None:
        if not 0 <= self.phrase < len(NEXT_ACTION_PHRASES):
            raise ValueError(
                f"NavCodecConfig.phrase must be in [0, {len(NEXT_ACTION_PHRASES)}), got {self.phrase}"
            )
        if not 0 <= self.history_frames <= MAX_HISTORY_FRAMES:
            raise ValueError(
                f"NavCodecConfig.history_frames must be in [0, {MAX_HISTORY_FRAMES}] (UIO-2's image "
                f"history slots), got {self.history_frames}"
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NavCodecConfig:
        """The config of a ``codec.json`` (its ``family`` is checked by whoever reads the file)."""
        fields = {k: v for k, v in data.items() if k != "family"}
        known = {f.name for f in dataclasses.fields(cls)}
        if set(fields) - known:
            raise ValueError(f"unknown NavCodecConfig fields {sorted(set(fields) - known)}")
        return cls(**fields)


def pose_text(pose: NavPose) -> str:
    """``( x z y )`` as three location tokens (module docstring: range, frame and yaw unit)."""

    def position(v: float) -> str:
        return location_token(min(max((v + POSITION_RANGE) / (2 * POSITION_RANGE), 0.0), 1.0))

    turn = (math.degrees(pose.yaw) % 360.0) / 360.0
    return f"( {position(pose.x)} {position(pose.z)} {location_token(min(turn, 1.0))} )"


def require_keys(info: Mapping[str, Any], keys: Sequence[str], what: str) -> None:
    """A ``KeyError`` naming the missing ``keys`` of ``info`` and ``what`` needs them."""
    missing = [k for k in keys if k not in info]
    if missing:
        raise KeyError(f"the info has no {missing}: {what}")


class NavCodec(abc.ABC):
    """``encode`` / ``target`` / ``decode`` / ``grammar`` of one navigation task; subclasses name the
    task's actions, its ``{#OBS}`` sentence and where the agent pose is in ``info``."""

    #: ``codec.json``'s family, and the codec a policy or checkpoint is built with
    family: ClassVar[str]
    #: action id -> output phrase
    action_phrases: ClassVar[tuple[str, ...]]
    #: the ``info`` keys that hold the agent pose (a policy keeps these from the reset info)
    pose_keys: ClassVar[tuple[str, ...]]

    def __init__(
        self,
        tokenizer: Tokenizer | None = None,
        preprocess: PreprocessConfig | None = None,
        config: NavCodecConfig | None = None,
    ) -> None:
        self.tokenizer = tokenizer or Tokenizer.default()
        self.preprocessor = ImagePreprocessor(preprocess or PreprocessConfig())
        self.config = config or NavCodecConfig()
        self._grammar: TokenGrammar | None = None

    # ------------------------------------------------------------------ task specifics
    @abc.abstractmethod
    def observation_text(self, obs: Mapping[str, Any], info: Mapping[str, Any]) -> str:
        """``{#OBS}``: one or more sentences, each ending with ". " (the template has no space after it)."""

    @abc.abstractmethod
    def agent_pose(self, info: Mapping[str, Any]) -> AgentPose:
        """The agent's pose in our world frame from an ``info``; ``KeyError`` naming what is missing."""

    # ------------------------------------------------------------------ files
    def save(self, folder: Path) -> None:
        """The codec files of a checkpoint folder (see :mod:`uio_agent.codecs.files`)."""
        data = {"family": self.family, **dataclasses.asdict(self.config)}
        save_codec_files(folder, self.tokenizer, data, self.preprocessor.config)

    @classmethod
    def load(cls, folder: Path, tokenizer_sha256: str | None = None) -> Self:
        tokenizer, preprocess, data = read_codec_files(folder, cls.family, tokenizer_sha256)
        return cls(tokenizer, preprocess, NavCodecConfig.from_dict(data))

    # ------------------------------------------------------------------ inputs
    @property
    def action_space_text(self) -> str:
        return ", ".join(self.action_phrases)

    def relative_pose(self, start_info: Mapping[str, Any], info: Mapping[str, Any]) -> NavPose:
        """The pose of ``info`` relative to the episode start (``start_info``: the reset info)."""
        return NavPose.relative(self.agent_pose(start_info), self.agent_pose(info))

    def window(self, history: Sequence[NavStep] | None) -> list[NavStep]:
        """The history entries that enter the prompt: the last ``history_frames``, oldest first."""
        if not history or self.config.history_frames == 0:
            return []
        return list(history)[-self.config.history_frames :]

    def prompt_text(
        self,
        obs: Mapping[str, Any],
        info: Mapping[str, Any],
        history: Sequence[NavStep] | None = None,
        phrase: str | None = None,
    ) -> str:
        """The encoder text for an observation and the (already windowed) history entries."""
        entries = list(history or [])
        if len(entries) > MAX_HISTORY_FRAMES:
            raise ValueError(
                f"{len(entries)} history entries, over UIO-2's {MAX_HISTORY_FRAMES} image-history slots; "
                "pass codec.window(history)"
            )
        parts = [
            f"{image_history_token(k)} {pose_text(step.pose)} {self.action_text(step.action)}"
            for k, step in enumerate(entries, start=1)
        ]
        desc = POINTNAV_DESC.format(OBS=self.observation_text(obs, info), ACTIONS=self.action_space_text)
        text = f"[Text] [S] {phrase or NEXT_ACTION_PHRASES[self.config.phrase]} {desc}"
        if parts:
            text += f" {HISTORY_HEADER} " + " ".join(parts)
        return text

    def image_input(self, frames: Sequence[np.ndarray]) -> ImagePatches:
        """Current frames (H, W, 3) uint8, one per example, as image-input patches."""
        return self.preprocessor.image_input([np.asarray(f) for f in frames], channels_last=True)

    def history_frame_patches(self, frames: Sequence[np.ndarray]) -> ImagePatches:
        """Frames (H, W, 3) as one-frame image-history patches [N, 1, P, D] (what a policy embeds once)."""
        return self.preprocessor.image_history([[np.asarray(f)] for f in frames], channels_last=True)

    def encode(
        self,
        obs: Mapping[str, Any],
        info: Mapping[str, Any] | None = None,
        history: Sequence[NavStep] | None = None,
        *,
        rng: random.Random | None = None,
    ) -> ModelInputs:
        """Model inputs (batch of one): observation and history as text, ``obs["rgb"]`` as the image,
        history frames as image history. ``info`` is read only where the task keeps part of its
        observation text there; ``rng`` samples the phrase."""
        entries = self.window(history)
        phrase = rng.choice(NEXT_ACTION_PHRASES) if rng is not None else None
        text = self.prompt_text(obs, info or {}, entries, phrase)
        image = self.image_input([obs["rgb"]])
        inputs = ModelInputs(
            text_tokens=torch.tensor([self.tokenizer.encode(text)], dtype=torch.long),
            image_patches=image.patches,
            image_mask=image.mask,
            image_pos_ids=image.pos_ids,
        )
        if entries:
            frames = []
            for k, step in enumerate(entries, start=1):
                if step.frame is None:
                    raise ValueError(
                        f"history entry {k} has no frame; encode needs frames (policies pass cached "
                        "embeddings as ModelInputs.image_history_features instead)"
                    )
                frames.append(np.asarray(step.frame))
            patches = self.preprocessor.image_history([frames], channels_last=True)
            inputs.image_history_patches = patches.patches
            inputs.image_history_mask = patches.mask
            inputs.image_history_pos_ids = patches.pos_ids
        return inputs

    # ------------------------------------------------------------------ outputs
    def action_text(self, action: Any) -> str:
        value = np.asarray(action)
        value = value.reshape(()) if value.size == 1 else value
        n = len(self.action_phrases)
        if value.shape != () or not np.issubdtype(value.dtype, np.integer) or not 0 <= int(value) < n:
            raise ValueError(
                f"{self.family} action must be an int in 0..{n - 1} ({self.action_space_text}), got {action!r}"
            )
        return self.action_phrases[int(value)]

    def target(self, episode: Mapping[str, Any], t: int = 0) -> str:
        """Training target: the phrase of ``episode["actions"][t]``."""
        actions = list(episode["actions"])
        if not 0 <= t < len(actions):
            raise ValueError(f"t={t} is outside the episode's {len(actions)} actions")
        return self.action_text(actions[t])

    def decode(self, text: str) -> int:
        """The action id of an action phrase (case, spacing, underscores and the benchmark's CamelCase
        names tolerated); anything else raises :class:`ActionParseError`."""
        normalised = name_words(text)
        if normalised not in self.action_phrases:
            raise ActionParseError(f"expected one of {list(self.action_phrases)}", text)
        return self.action_phrases.index(normalised)

    # ------------------------------------------------------------------ constrained decoding
    def grammar(self) -> TokenGrammar:
        """The token automaton of the action sentences (exact tokenizer ids, then EOS)."""
        if self._grammar is None:
            grammar = TokenGrammar(self.tokenizer.vocab_size)
            for phrase in self.action_phrases:
                ids = self.tokenizer.encode(phrase)  # ends with EOS
                end = grammar.new_state()
                grammar.add_path(0, ids[:-1], end)
                grammar.add_end(end)
            self._grammar = grammar
        return self._grammar

    def max_output_tokens(self) -> int:
        """Longest action sentence in tokens, EOS included."""
        return max(len(self.tokenizer.encode(p)) for p in self.action_phrases)
