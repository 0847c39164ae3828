"""VIMA-Bench <-> UIO-2: multimodal prompts in, whole action plans out (``reference`` §9.1).

Input layout (the official preprocessor is unreleased; this follows the released prompts and parser):

* text: ``"[Text] [S] "`` + the VIMA prompt with each image placeholder ``{name}`` replaced by
  ``<image_history_k>`` (k in order of first appearance; a repeated placeholder reuses its k) + ``" "``
  + one official VIMA instruction (fixed at evaluation, sampled in training; left out with
  ``with_instruction=False``);
* image input: the current observation, front view stacked over top view (256x256, both cameras'
  full frames, no resampling before the model's own preprocessing);
* image history: one frame per placeholder. ``object`` placeholders are cropped to their mask's box
  plus a margin (the object alone on white, as VIMA renders it, covers 30.5% of the history frame on
  average instead of 1.4% as a whole top view: measured over the object placeholders of every L1
  task, seeds 0-2; see benchmarks/RESULTS.md);
  ``scene`` placeholders are whole front-over-top frames like the observation.
* At most 8 distinct placeholders fit the 8 history slots (every VIMA-Bench task stays within 8).
  A prompt with more raises :class:`PromptImageLimitError`: an explicit failure, never a silent cut.

Output: the whole plan, one sentence per step,
``N: pick from ( x y r ) and place to ( x y r )`` (suction) or ``N: push from ( ... ) and push to ( ... )``
(spatula), each value a location token over VIMA's action bounds. Rotations: ``(yaw° mod 360)/360`` by
default; ``rotation="official_literal"`` decodes exactly as the official de-normaliser does (value
``bin/1000``, ``rot = v*360`` given to ``euler2quat`` as radians) for parity with released checkpoints.
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from uio_agent.codecs.files import read_codec_files, save_codec_files
from uio_agent.codecs.grammar import ActionParseError, TokenGrammar
from uio_agent.codecs.prompts import vima_instructions
from uio_agent.model.batch import ModelInputs
from uio_agent.model.preprocess import ImagePreprocessor, PreprocessConfig
from uio_agent.model.tokenizer import (
    LOCATION_START,
    TEXT_PREFIX,
    Tokenizer,
    image_history_token,
    location_bin,
)

#: VIMA-Bench action bounds (x, y) in metres
POSITION_LOW = np.array([0.25, -0.5])
POSITION_HIGH = np.array([0.75, 0.5])
MAX_PROMPT_IMAGES = 8
END_EFFECTOR_VERBS = {"suction": ("pick", "place"), "spatula": ("push", "push")}
ROTATION_MODES = ("degrees", "official_literal")
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")
_LOC = r"<extra_id_(\d+)>"
_TRIPLE = rf"\( {_LOC} {_LOC} {_LOC} \)"
_STEP = re.compile(rf"(\d+): (pick|push) from {_TRIPLE} and (place|push) to {_TRIPLE}")


class PromptImageLimitError(ValueError):
    """A prompt references more distinct images than the model's history slots."""


@dataclass
class VimaCodecConfig:
    """Choices that change the model's input or output text; saved as ``codec.json`` in checkpoints."""

    #: index into :func:`vima_instructions` used at evaluation; training samples uniformly
    instruction: int = 0
    #: append an official VIMA instruction to the prompt; ``False`` keeps the prompt alone, a third of
    #: the encoder text, for from-scratch training where every example has the same task form
    with_instruction: bool = True
    rotation: str = "degrees"
    #: "front_over_top", "front" or "top": how the observation (and scene placeholders) become one image
    observation_layout: str = "front_over_top"
    #: view an object placeholder is cropped from
    object_view: str = "top"
    #: pixels added around an object's mask box when cropping
    object_margin: int = 6
    #: longest plan the grammar admits (VIMA's largest step budget is 14 + 2)
    max_steps: int = 16

    def __post_init__(self) -> None:
        if self.rotation not in ROTATION_MODES:
            raise ValueError(
                f"VimaCodecConfig.rotation must be one of {ROTATION_MODES}, got {self.rotation!r}"
            )
        if self.observation_layout not in ("front_over_top", "front", "top"):
            raise ValueError(
                f"VimaCodecConfig.observation_layout {self.observation_layout!r} is not a layout"
            )
        if self.object_view not in ("front", "top"):
            raise ValueError(
                f"VimaCodecConfig.object_view must be 'front' or 'top', got {self.object_view!r}"
            )
        count = len(vima_instructions())
        if not 0 <= self.instruction < count:
            raise ValueError(f"VimaCodecConfig.instruction must be in [0, {count}), got {self.instruction}")
        if self.max_steps < 1 or self.object_margin < 0:
            raise ValueError("VimaCodecConfig.max_steps must be >= 1 and object_margin >= 0")

    def to_dict(self) -> dict[str, Any]:
        return {"family": "vima", **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VimaCodecConfig:
        fields = {k: v for k, v in data.items() if k != "family"}
        known = {f.name for f in dataclasses.fields(cls)}
        if set(fields) - known:
            raise ValueError(f"unknown VimaCodecConfig fields {sorted(set(fields) - known)}")
        return cls(**fields)


# ---------------------------------------------------------------------------- geometry helpers
def yaw_of(quaternion_xyzw: Sequence[float]) -> float:
    """Yaw (radians) of an xyzw quaternion."""
    x, y, z, w = (float(v) for v in quaternion_xyzw)
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def yaw_quaternion(yaw: float) -> np.ndarray:
    """xyzw quaternion of a rotation by ``yaw`` radians about z."""
    return np.array([0.0, 0.0, math.sin(yaw / 2.0), math.cos(yaw / 2.0)], dtype=np.float32)


def _unit(value: float) -> float:
    return min(max(value, 0.0), 1.0)


# ---------------------------------------------------------------------------- the codec
class VimaCodec:
    """``encode`` / ``target`` / ``decode`` / ``grammar`` for VIMA-Bench and the embedded tabletop suite."""

    family = "vima"

    def __init__(
        self,
        tokenizer: Tokenizer | None = None,
        preprocess: PreprocessConfig | None = None,
        config: VimaCodecConfig | None = None,
    ) -> None:
        self.tokenizer = tokenizer or Tokenizer.default()
        self.preprocessor = ImagePreprocessor(preprocess or PreprocessConfig())
        self.config = config or VimaCodecConfig()
        self._grammars: dict[tuple[str, int], TokenGrammar] = {}

    # ------------------------------------------------------------------ files
    def save(self, folder: Path) -> None:
        """The codec files of a checkpoint folder (see :mod:`uio_agent.codecs.files`)."""
        save_codec_files(folder, self.tokenizer, self.config.to_dict(), self.preprocessor.config)

    @classmethod
    def load(cls, folder: Path, tokenizer_sha256: str | None = None) -> VimaCodec:
        tokenizer, preprocess, data = read_codec_files(folder, cls.family, tokenizer_sha256)
        return cls(tokenizer, preprocess, VimaCodecConfig.from_dict(data))

    # ------------------------------------------------------------------ inputs
    def prompt_text(self, prompt: str, instruction: str | None = None) -> tuple[str, list[str]]:
        """The encoder text and the placeholder names in history order."""
        order: list[str] = []

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in order:
                order.append(name)
            return image_history_token(order.index(name) + 1) if len(order) <= MAX_PROMPT_IMAGES else ""

        body = _PLACEHOLDER.sub(replace, prompt)
        if len(order) > MAX_PROMPT_IMAGES:
            raise PromptImageLimitError(
                f"prompt references {len(order)} distinct images ({', '.join(order)}), over the "
                f"{MAX_PROMPT_IMAGES} image-history slots of UIO-2"
            )
        if not self.config.with_instruction:
            return f"{TEXT_PREFIX} {body}", order
        if instruction is None:
            instruction = vima_instructions()[self.config.instruction]
        return f"{TEXT_PREFIX} {body} {instruction}", order

    def observation_image(self, rgb_views: Mapping[str, np.ndarray]) -> np.ndarray:
        """Channel-first uint8 image of an observation (or a scene asset) in the configured layout."""
        layout = self.config.observation_layout
        if layout == "front_over_top":
            return np.concatenate([np.asarray(rgb_views["front"]), np.asarray(rgb_views["top"])], axis=1)
        return np.asarray(rgb_views[layout])

    def observation_segmentation(self, segm_views: Mapping[str, np.ndarray]) -> np.ndarray:
        """The (H, W) object-id map of an observation, laid out as :meth:`observation_image`."""
        layout = self.config.observation_layout
        if layout == "front_over_top":
            return np.concatenate([np.asarray(segm_views["front"]), np.asarray(segm_views["top"])], axis=0)
        return np.asarray(segm_views[layout])

    def asset_image(self, name: str, asset: Mapping[str, Any]) -> np.ndarray:
        """The history frame of one prompt asset (channel-first uint8)."""
        kind = asset.get("placeholder_type")
        if kind == "scene":
            return self.observation_image(asset["rgb"])
        if kind != "object":
            raise ValueError(
                f"prompt asset {name!r} has placeholder_type {kind!r}; expected 'object' or 'scene'"
            )
        view = self.config.object_view
        rgb = np.asarray(asset["rgb"][view])
        segm = np.asarray(asset["segm"][view])
        info = asset["segm"].get("obj_info", {})
        obj_id = info.get("obj_id") if isinstance(info, Mapping) else None
        mask = segm == obj_id if obj_id is not None else np.zeros(segm.shape, dtype=bool)
        if not mask.any():
            return rgb  # the object is not visible in this view: keep the whole frame
        rows, cols = np.nonzero(mask)
        m = self.config.object_margin
        top, bottom = max(rows.min() - m, 0), min(rows.max() + m + 1, segm.shape[0])
        left, right = max(cols.min() - m, 0), min(cols.max() + m + 1, segm.shape[1])
        return rgb[:, top:bottom, left:right]

    def encode(
        self,
        obs: Mapping[str, Any],
        info: Mapping[str, Any],
        history: Sequence[Any] | None = None,
        *,
        rng: random.Random | None = None,
    ) -> ModelInputs:
        """Model inputs (batch of one) for planning from ``obs`` with the prompt in ``info``.

        ``history`` is unused: a VIMA plan is predicted from one observation (UIO-2's open-loop
        protocol). ``rng`` samples the instruction (training); without it the configured one is used.
        """
        del history
        prompt, assets = info["prompt"], info["prompt_assets"]
        instruction = rng.choice(vima_instructions()) if rng is not None else None
        text, order = self.prompt_text(prompt, instruction)
        missing = [name for name in order if name not in assets]
        if missing:
            raise ValueError(f"prompt placeholders without an asset: {missing}")
        tokens = torch.tensor([self.tokenizer.encode(text)], dtype=torch.long)
        image = self.preprocessor.image_input([self.observation_image(obs["rgb"])], channels_last=False)
        inputs = ModelInputs(
            text_tokens=tokens,
            image_patches=image.patches,
            image_mask=image.mask,
            image_pos_ids=image.pos_ids,
        )
        if order:
            frames = [self.asset_image(name, assets[name]) for name in order]
            history_patches = self.preprocessor.image_history([frames], channels_last=False)
            inputs.image_history_patches = history_patches.patches
            inputs.image_history_mask = history_patches.mask
            inputs.image_history_pos_ids = history_patches.pos_ids
        return inputs

    # ------------------------------------------------------------------ outputs
    def _encode_rotation(self, quaternion: Sequence[float]) -> str:
        yaw = yaw_of(quaternion)
        if self.config.rotation == "degrees":
            value = (math.degrees(yaw) % 360.0) / 360.0
        else:  # the official de-normaliser reads v*360 as radians: invert that literally
            value = (yaw % (2 * math.pi)) / 360.0
        return f"<extra_id_{200 + location_bin(_unit(value))}>"

    def _encode_pose(self, position: Sequence[float], quaternion: Sequence[float]) -> str:
        unit = (np.asarray(position, dtype=np.float64) - POSITION_LOW) / (POSITION_HIGH - POSITION_LOW)
        x, y = (f"<extra_id_{200 + location_bin(_unit(float(v)))}>" for v in unit)
        return f"( {x} {y} {self._encode_rotation(quaternion)} )"

    def plan_text(self, actions: Sequence[Mapping[str, Any]], end_effector: str) -> str:
        """The target text of a sequence of actions (steps numbered from 1)."""
        if end_effector not in END_EFFECTOR_VERBS:
            raise ValueError(
                f"end_effector must be one of {sorted(END_EFFECTOR_VERBS)}, got {end_effector!r}"
            )
        start, end = END_EFFECTOR_VERBS[end_effector]
        steps = []
        for n, action in enumerate(actions, start=1):
            pose0 = self._encode_pose(action["pose0_position"], action["pose0_rotation"])
            pose1 = self._encode_pose(action["pose1_position"], action["pose1_rotation"])
            steps.append(f"{n}: {start} from {pose0} and {end} to {pose1}")
        return " ".join(steps)

    def target(self, episode: Mapping[str, Any], t: int = 0) -> str:
        """Training target: the plan of ``episode["actions"][t:]`` (re-planning from step ``t``).

        ``episode`` holds ``actions`` (dicts with VIMA's four keys) and ``end_effector``
        (``"suction"``/``"spatula"``) or ``meta_info["end_effector_type"]``.
        """
        actions = list(episode["actions"])
        if not 0 <= t < len(actions):
            raise ValueError(f"t={t} is outside the episode's {len(actions)} actions")
        end_effector = episode.get("end_effector") or episode["meta_info"]["end_effector_type"]
        return self.plan_text(actions[t:], end_effector)

    def _decode_value(self, token: str, text: str) -> float:
        number = int(token)
        if not 200 <= number <= 1199:
            raise ActionParseError(f"<extra_id_{number}> is not a location token", text)
        bin_ = number - 200
        return bin_ / 1000.0 if self.config.rotation == "official_literal" else bin_ / 999.0

    def _decode_pose(self, values: Sequence[str], text: str) -> tuple[np.ndarray, np.ndarray]:
        vx, vy, vr = (self._decode_value(v, text) for v in values)
        position = POSITION_LOW + np.array([vx, vy]) * (POSITION_HIGH - POSITION_LOW)
        yaw = vr * 360.0 if self.config.rotation == "official_literal" else math.radians(vr * 360.0)
        return position.astype(np.float32), yaw_quaternion(yaw)

    def decode(self, text: str, max_steps: int | None = None) -> list[dict[str, np.ndarray]]:
        """Parse a whole plan into float32 xyzw action dicts; anything else raises :class:`ActionParseError`."""
        stripped = text.strip()
        if not stripped:
            raise ActionParseError("empty plan", text)
        actions: list[dict[str, np.ndarray]] = []
        position = 0
        while position < len(stripped):
            match = _STEP.match(stripped, position)
            if match is None:
                raise ActionParseError(f"expected step {len(actions) + 1} at character {position}", text)
            number, start, *first, end = match.group(1, 2, 3, 4, 5, 6)
            second = match.group(7, 8, 9)
            if int(number) != len(actions) + 1:
                raise ActionParseError(f"step numbered {number}, expected {len(actions) + 1}", text)
            if (start, end) not in END_EFFECTOR_VERBS.values():
                raise ActionParseError(f"'{start} from' cannot end with '{end} to'", text)
            pos0, rot0 = self._decode_pose(first, text)
            pos1, rot1 = self._decode_pose(second, text)
            actions.append(
                {
                    "pose0_position": pos0,
                    "pose0_rotation": rot0,
                    "pose1_position": pos1,
                    "pose1_rotation": rot1,
                }
            )
            position = match.end()
            while position < len(stripped) and stripped[position].isspace():
                position += 1
        limit = self.config.max_steps if max_steps is None else max_steps
        if len(actions) > limit:
            raise ActionParseError(f"plan has {len(actions)} steps, more than the {limit} allowed", text)
        return actions

    # ------------------------------------------------------------------ constrained decoding
    def grammar(self, end_effector: str = "suction", max_steps: int | None = None) -> TokenGrammar:
        """The token automaton of every plan of 1..max_steps steps for ``end_effector``."""
        steps = self.config.max_steps if max_steps is None else max_steps
        key = (end_effector, steps)
        if key not in self._grammars:
            self._grammars[key] = self._build_grammar(end_effector, steps)
        return self._grammars[key]

    def _chunks(self, end_effector: str, steps: int) -> list[list[int]]:
        """The literal token runs between location tokens of a ``steps``-step plan (EOS included)."""
        zero = {"pose0_position": (0.5, 0.0), "pose0_rotation": (0, 0, 0, 1)}
        action = {**zero, "pose1_position": (0.5, 0.0), "pose1_rotation": (0, 0, 0, 1)}
        ids = self.tokenizer.encode(self.plan_text([action] * steps, end_effector))
        chunks: list[list[int]] = [[]]
        for token in ids:
            if LOCATION_START <= token < LOCATION_START + 1000:
                if chunks[-1]:
                    chunks.append([])
            else:
                chunks[-1].append(token)
        return chunks

    def _build_grammar(self, end_effector: str, max_steps: int) -> TokenGrammar:
        if end_effector not in END_EFFECTOR_VERBS:
            raise ValueError(
                f"end_effector must be one of {sorted(END_EFFECTOR_VERBS)}, got {end_effector!r}"
            )
        loc = "location"
        grammar = TokenGrammar(
            self.tokenizer.vocab_size, {loc: list(range(LOCATION_START, LOCATION_START + 1000))}
        )
        chunks = self._chunks(end_effector, max_steps)
        # chunks: [start_1, mid, trans_2, mid, trans_3, ..., mid, end+EOS]
        state = 0
        for n in range(1, max_steps + 1):
            opening = chunks[2 * (n - 1)]
            after_opening = grammar.new_state()
            grammar.add_path(state, opening, after_opening)
            first = grammar.new_state()
            grammar.add_path(after_opening, [loc, loc, loc], first)
            middle = grammar.new_state()
            grammar.add_path(first, chunks[2 * n - 1], middle)
            second = grammar.new_state()
            grammar.add_path(middle, [loc, loc, loc], second)
            if n < max_steps:
                # the next opening starts with ")" like the end; the NFA keeps both alive
                state = second
            closing = self._chunks(end_effector, n)[-1]  # ")" + EOS
            grammar.add_path(second, closing[:-1], (end := grammar.new_state()))
            grammar.add_end(end)
        return grammar
