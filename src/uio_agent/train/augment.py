"""Label-preserving augmentation of recorded tabletop episodes: new scenes from the recorded ones.

Trained from scratch on a thousand demonstrations per task, the CPU recipe memorises them: the training
loss falls to its floor while held-out success stays near zero (benchmarks/RESULTS.md). Two
transforms make new, exactly labelled examples from every recorded step, for the top-view layout:

* **Turning the workspace by 180 degrees** about its centre. The top camera is orthographic and centred
  on the centre of VIMA's action bounds, (0.5, 0) (``envs/tabletop/scene.py``; a test checks it), so
  the turned scene's top view is the recorded one with both pixel axes flipped, and its actions are the
  recorded ones with positions mapped ``(x, y) -> (1 - x, -y)``. Rotations stay as they are: a
  pick-and-place turns the object by ``yaw1 - yaw0``, which a global turn leaves alone (the goals turn
  with the scene). Prompt images turn with the scene, as the same camera would see them. A turned
  front view is not a view of any scene, so this needs ``observation_layout="top"`` and
  ``object_view="top"``.
* **Permuting the RGB channels** of every image, scene and prompt alike: new colours on the same
  patterns, so "the object that looks like this crop" still names the same object, and the grey table
  and white prompt background stay grey and white. Prompts that name a texture in words ("the red
  object") keep their colours, since the words would no longer match.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from uio_agent.codecs.vima import POSITION_HIGH, POSITION_LOW, VimaCodecConfig
from uio_agent.envs.tabletop.catalog import TEXTURES

#: the five non-identity orders of the RGB channels
CHANNEL_PERMUTATIONS = ((0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))
#: the point the 180-degree turn keeps fixed: the centre of VIMA's action bounds
WORKSPACE_CENTRE = (POSITION_LOW + POSITION_HIGH) / 2.0


@dataclass
class TabletopAugmentation:
    """How often each transform is applied to a training example (independently, 0 = never)."""

    rotate_180: float = 0.0
    permute_channels: float = 0.0

    def __post_init__(self) -> None:
        for name in ("rotate_180", "permute_channels"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"augmentation {name} must be a probability in [0, 1], got {value}")

    @property
    def enabled(self) -> bool:
        return self.rotate_180 > 0.0 or self.permute_channels > 0.0

    def check_codec(self, config: VimaCodecConfig) -> None:
        """Raise when the codec shows images the 180-degree turn cannot produce."""
        if self.rotate_180 > 0.0 and (config.observation_layout != "top" or config.object_view != "top"):
            raise ValueError(
                "augmentation rotate_180 turns top views only: it needs the codec's observation_layout="
                f"'top' and object_view='top' (got {config.observation_layout!r}, {config.object_view!r})"
            )

    def draw(self, prompt: str, rng: random.Random) -> AugmentationDraw:
        """The transform of one example; draws nothing from ``rng`` for a transform that is off."""
        turn = self.rotate_180 > 0.0 and rng.random() < self.rotate_180
        permutation = None
        if (
            self.permute_channels > 0.0
            and rng.random() < self.permute_channels
            and not names_a_texture(prompt)
        ):
            permutation = rng.choice(CHANNEL_PERMUTATIONS)
        return AugmentationDraw(turn, permutation)


@dataclass(frozen=True)
class AugmentationDraw:
    """One example's transform: the 180-degree turn, a channel order, both or neither."""

    rotate_180: bool = False
    channels: tuple[int, int, int] | None = None

    @property
    def identity(self) -> bool:
        return not self.rotate_180 and self.channels is None

    def image(self, rgb: np.ndarray) -> np.ndarray:
        """A channel-first (3, H, W) image, transformed."""
        out = np.asarray(rgb)
        if self.rotate_180:
            out = out[:, ::-1, ::-1]
        if self.channels is not None:
            out = out[list(self.channels)]
        return np.ascontiguousarray(out)

    def mask(self, segm: np.ndarray) -> np.ndarray:
        """A (H, W) segmentation, moved with the pixels."""
        out = np.asarray(segm)
        return np.ascontiguousarray(out[::-1, ::-1]) if self.rotate_180 else out

    def observation(self, obs: Mapping[str, Any]) -> dict[str, Any]:
        """An observation (or a prompt asset) whose top view is transformed, its segmentation moved with
        it; the front view is left as recorded."""
        changed = {**obs, "rgb": {**obs["rgb"], "top": self.image(obs["rgb"]["top"])}}
        segm = obs.get("segm")
        if isinstance(segm, Mapping) and "top" in segm:
            changed["segm"] = {**segm, "top": self.mask(segm["top"])}
        return changed

    def prompt_assets(self, assets: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        return {name: self.observation(asset) for name, asset in assets.items()}

    def actions(self, actions: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """Actions in the transformed scene: positions turned about the workspace centre (the recorded
        actions themselves when nothing moves)."""
        if not self.rotate_180:
            return list(actions)
        return [
            {
                **action,
                "pose0_position": turn_position(action["pose0_position"]),
                "pose1_position": turn_position(action["pose1_position"]),
            }
            for action in actions
        ]


def turn_position(position: Sequence[float]) -> np.ndarray:
    """``(x, y)`` turned by 180 degrees about the workspace centre: ``(1 - x, -y)``."""
    xy = np.asarray(position, dtype=np.float64)
    return (2.0 * WORKSPACE_CENTRE - xy).astype(np.float32)


@cache
def _texture_words() -> re.Pattern[str]:
    names = sorted(TEXTURES, key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b", re.IGNORECASE)


def names_a_texture(prompt: str) -> bool:
    """Whether the prompt names a texture in words (placeholders, in braces, do not count)."""
    return _texture_words().search(re.sub(r"\{[^}]*\}", " ", prompt)) is not None
