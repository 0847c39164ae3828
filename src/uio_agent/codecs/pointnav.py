"""Habitat PointNav <-> UIO-2: UIO-2's next-action format, one discrete action per step (``reference`` §9.2).

The official preprocessor is unreleased; this codec fills the released template and documents every
choice it makes.

Input text::

    "[Text] [S] " + <next-action phrase> + " " + POINTNAV_DESC(OBS=<goal>, ACTIONS=<action space>)
    [+ " History: " + " ".join(<image_history_k> ( x z y ) <action>  for k = 1..K)]

* ``<next-action phrase>``: one of the 19 official ``NEXT_ACTION_PHRASES`` (fixed at evaluation by
  :attr:`PointNavCodecConfig.phrase`, sampled in training when ``encode`` gets an ``rng``).
* ``<goal>`` (``{#OBS}``): the ``pointgoal_with_gps_compass`` reading ``[rho, phi]`` as
  ``"The goal is {rho:.1f} meters away and {|phi| in whole degrees} degrees to the {left|right}. "``
  (the phrasing of the tokenizer corpus). habitat's sign convention: ``phi > 0`` is to the left;
  ``phi == 0`` reads "0 degrees to the left".
* ``<action space>`` (``{#action_space}``): ``"stop, move forward, turn left, turn right"``, the four
  Discrete(4) actions in id order.
* History: the last ``K <= history_frames`` steps, oldest first. Entry ``k`` is the frame seen at that
  step (image history slot ``k``), the agent's pose at that step and the action it took there. The pose
  is **relative to the episode's start pose, in the start's frame** (habitat's GPS+compass convention:
  ``x`` to the start's right, ``z`` behind the start, the start facing −z) in metres, and the heading
  change ``yaw`` (counter-clockwise = turned left, positive) as ``(yaw° mod 360) / 360``. x and z map
  ``[-POSITION_RANGE, +POSITION_RANGE]`` = [−25, 25] m linearly onto [0, 1] (one bin ≈ 5 cm, the navmesh
  cell); values outside are clipped. Each value is a location token ``<extra_id_{200 + int(v*999)}>``.
* Image input: the current ``rgb`` frame.

Output: one action phrase (``"stop"``, ``"move forward"``, ``"turn left"``, ``"turn right"``) and EOS,
decoded to the Discrete(4) id; :meth:`PointNavCodec.grammar` admits exactly these four sentences.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from uio_agent.codecs.files import read_codec_files, save_codec_files
from uio_agent.codecs.grammar import ActionParseError, TokenGrammar
from uio_agent.codecs.prompts import NEXT_ACTION_PHRASES, POINTNAV_DESC
from uio_agent.envs.nav.frames import quaternion_to_yaw
from uio_agent.model.batch import ModelInputs
from uio_agent.model.preprocess import ImagePatches, ImagePreprocessor, PreprocessConfig
from uio_agent.model.tokenizer import MAX_HISTORY_FRAMES, Tokenizer, image_history_token, location_token

#: Discrete(4) action id -> output phrase (habitat-lab's action names, words separated by spaces)
ACTION_PHRASES = ("stop", "move forward", "turn left", "turn right")
ACTION_SPACE_TEXT = ", ".join(ACTION_PHRASES)
#: start-relative x and z are written over [-POSITION_RANGE, POSITION_RANGE] metres
POSITION_RANGE = 25.0
HISTORY_HEADER = "History:"


@dataclass(frozen=True)
class NavPose:
    """Start-relative pose: ``x`` right of the start, ``z`` behind it (metres), ``yaw`` turned left (radians)."""

    x: float
    z: float
    yaw: float

    @classmethod
    def relative(
        cls,
        start_position: Sequence[float],
        start_rotation: Sequence[float],
        position: Sequence[float],
        rotation: Sequence[float],
    ) -> NavPose:
        """The pose of Habitat-frame ``position``/``rotation`` (``[x, y, z]``, ``[x, y, z, w]``) in the start's frame."""
        start_yaw = quaternion_to_yaw(list(start_rotation))
        dx = float(position[0]) - float(start_position[0])
        dz = float(position[2]) - float(start_position[2])
        # rotate the world offset by -start_yaw about +y: the start's right is x, its back is z
        c, s = math.cos(start_yaw), math.sin(start_yaw)
        x = c * dx - s * dz
        z = s * dx + c * dz
        return cls(x, z, quaternion_to_yaw(list(rotation)) - start_yaw)

    @classmethod
    def from_info(cls, start_info: Mapping[str, Any], info: Mapping[str, Any]) -> NavPose:
        """Pose from the ``agent_position``/``agent_rotation`` of two PointNav infos (reset and now)."""
        for name, source in (("start", start_info), ("current", info)):
            missing = [k for k in ("agent_position", "agent_rotation") if k not in source]
            if missing:
                raise KeyError(
                    f"the {name} info has no {missing}: PointNav history needs the agent pose in info "
                    "(PointNavEnv and the habitat adapter report it)"
                )
        return cls.relative(
            start_info["agent_position"],
            start_info["agent_rotation"],
            info["agent_position"],
            info["agent_rotation"],
        )


@dataclass
class NavStep:
    """One history entry: what the agent saw (``frame``, (H, W, 3) uint8; ``None`` when the caller passes
    cached embeddings instead), where it was, and the action it took there."""

    pose: NavPose
    action: int
    frame: np.ndarray | None = None


@dataclass
class PointNavCodecConfig:
    """Choices that change the model's input or output text; saved as ``codec.json`` in checkpoints."""

    #: index into ``NEXT_ACTION_PHRASES`` used at evaluation; training samples uniformly
    phrase: int = 0
    #: history entries kept (UIO-2's image history holds at most 8; 4 is the official default)
    history_frames: int = 4

    def __post_init__(self) -> None:
        if not 0 <= self.phrase < len(NEXT_ACTION_PHRASES):
            raise ValueError(
                f"PointNavCodecConfig.phrase must be in [0, {len(NEXT_ACTION_PHRASES)}), got {self.phrase}"
            )
        if not 0 <= self.history_frames <= MAX_HISTORY_FRAMES:
            raise ValueError(
                f"PointNavCodecConfig.history_frames must be in [0, {MAX_HISTORY_FRAMES}] (UIO-2's image "
                f"history slots), got {self.history_frames}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {"family": "pointnav", **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PointNavCodecConfig:
        fields = {k: v for k, v in data.items() if k != "family"}
        known = {f.name for f in dataclasses.fields(cls)}
        if set(fields) - known:
            raise ValueError(f"unknown PointNavCodecConfig fields {sorted(set(fields) - known)}")
        return cls(**fields)


def goal_text(pointgoal: Sequence[float]) -> str:
    """``{#OBS}``: ``[rho, phi]`` (habitat: phi > 0 = left) as one sentence ending with a space."""
    rho, phi = (float(v) for v in np.asarray(pointgoal, dtype=np.float64).reshape(-1)[:2])
    if not (math.isfinite(rho) and math.isfinite(phi)):
        raise ValueError(f"pointgoal_with_gps_compass must be finite, got {[rho, phi]}")
    degrees = round(abs(math.degrees(phi)))
    side = "left" if phi >= 0 else "right"
    return f"The goal is {rho:.1f} meters away and {degrees} degrees to the {side}. "


def pose_text(pose: NavPose) -> str:
    """``( x z y )`` as three location tokens (module docstring: range, frame and yaw unit)."""

    def position(v: float) -> str:
        return location_token(min(max((v + POSITION_RANGE) / (2 * POSITION_RANGE), 0.0), 1.0))

    turn = (math.degrees(pose.yaw) % 360.0) / 360.0
    return f"( {position(pose.x)} {position(pose.z)} {location_token(min(turn, 1.0))} )"


def _normalise(text: str) -> str:
    return " ".join(text.replace("_", " ").split()).lower()


class PointNavCodec:
    """``encode`` / ``target`` / ``decode`` / ``grammar`` for PointNav (the embedded suite and habitat)."""

    family = "pointnav"

    def __init__(
        self,
        tokenizer: Tokenizer | None = None,
        preprocess: PreprocessConfig | None = None,
        config: PointNavCodecConfig | None = None,
    ) -> None:
        self.tokenizer = tokenizer or Tokenizer.default()
        self.preprocessor = ImagePreprocessor(preprocess or PreprocessConfig())
        self.config = config or PointNavCodecConfig()
        self._grammar: TokenGrammar | None = None

    # ------------------------------------------------------------------ files
    def save(self, folder: Path) -> None:
        """The codec files of a checkpoint folder (see :mod:`uio_agent.codecs.files`)."""
        save_codec_files(folder, self.tokenizer, self.config.to_dict(), self.preprocessor.config)

    @classmethod
    def load(cls, folder: Path, tokenizer_sha256: str | None = None) -> PointNavCodec:
        tokenizer, preprocess, data = read_codec_files(folder, cls.family, tokenizer_sha256)
        return cls(tokenizer, preprocess, PointNavCodecConfig.from_dict(data))

    # ------------------------------------------------------------------ inputs
    def window(self, history: Sequence[NavStep] | None) -> list[NavStep]:
        """The history entries that enter the prompt: the last ``history_frames``, oldest first."""
        if not history or self.config.history_frames == 0:
            return []
        return list(history)[-self.config.history_frames :]

    def prompt_text(
        self, pointgoal: Sequence[float], history: Sequence[NavStep] | None = None, phrase: str | None = None
    ) -> str:
        """The encoder text for a goal reading and the (already windowed) history entries."""
        entries = list(history or [])
        if len(entries) > MAX_HISTORY_FRAMES:
            raise ValueError(
                f"{len(entries)} history entries, over UIO-2's {MAX_HISTORY_FRAMES} image-history slots; "
                "pass codec.window(history)"
            )
        for step in entries:
            if not 0 <= int(step.action) < len(ACTION_PHRASES):
                raise ValueError(f"history action {step.action!r} is not a PointNav action id 0..3")
        desc = POINTNAV_DESC.format(OBS=goal_text(pointgoal), ACTIONS=ACTION_SPACE_TEXT)
        text = f"[Text] [S] {phrase or NEXT_ACTION_PHRASES[self.config.phrase]} {desc}"
        if entries:
            parts = [
                f"{image_history_token(k)} {pose_text(step.pose)} {ACTION_PHRASES[int(step.action)]}"
                for k, step in enumerate(entries, start=1)
            ]
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
        """Model inputs (batch of one): goal and history as text, ``obs["rgb"]`` as the image, history frames
        as image history. ``info`` is unused (poses are already in the entries); ``rng`` samples the phrase."""
        del info
        entries = self.window(history)
        phrase = rng.choice(NEXT_ACTION_PHRASES) if rng is not None else None
        text = self.prompt_text(obs["pointgoal_with_gps_compass"], entries, phrase)
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
        value = int(np.asarray(action).reshape(()))
        if not 0 <= value < len(ACTION_PHRASES):
            raise ValueError(f"PointNav action must be 0..3 ({', '.join(ACTION_PHRASES)}), got {action!r}")
        return ACTION_PHRASES[value]

    def target(self, episode: Mapping[str, Any], t: int = 0) -> str:
        """Training target: the phrase of ``episode["actions"][t]``."""
        actions = list(episode["actions"])
        if not 0 <= t < len(actions):
            raise ValueError(f"t={t} is outside the episode's {len(actions)} actions")
        return self.action_text(actions[t])

    def decode(self, text: str) -> int:
        """The Discrete(4) id of an action phrase (case, spacing and habitat's underscores tolerated);
        anything else raises :class:`ActionParseError`."""
        normalised = _normalise(text)
        if normalised not in ACTION_PHRASES:
            raise ActionParseError(f"expected one of {list(ACTION_PHRASES)}", text)
        return ACTION_PHRASES.index(normalised)

    # ------------------------------------------------------------------ constrained decoding
    def grammar(self) -> TokenGrammar:
        """The token automaton of the four action sentences (exact tokenizer ids, then EOS)."""
        if self._grammar is None:
            grammar = TokenGrammar(self.tokenizer.vocab_size)
            for phrase in ACTION_PHRASES:
                ids = self.tokenizer.encode(phrase)  # ends with EOS
                end = grammar.new_state()
                grammar.add_path(0, ids[:-1], end)
                grammar.add_end(end)
            self._grammar = grammar
        return self._grammar

    def max_output_tokens(self) -> int:
        """Longest action sentence in tokens, EOS included."""
        return max(len(self.tokenizer.encode(p)) for p in ACTION_PHRASES)
