"""Agent bodies and sensors: habitat-lab's PointNav benchmark and the Habitat Challenge 2020 LoCoBot."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Embodiment:
    """Body, camera and action sizes; defaults are habitat-lab's PointNav benchmark values."""

    name: str = "benchmark"
    agent_height: float = 1.5  # body, metres
    agent_radius: float = 0.1
    camera_height: float = 1.25  # above the floor
    hfov: float = 90.0  # horizontal field of view, degrees
    width: int = 256  # image size, pixels
    height: int = 256
    forward_step: float = 0.25
    turn_angle: float = 10.0  # degrees
    success_distance: float = 0.2
    allow_sliding: bool = True
    min_depth: float = 0.0
    max_depth: float = 10.0
    normalize_depth: bool = True

    def __post_init__(self) -> None:
        positive = (
            "agent_height",
            "agent_radius",
            "camera_height",
            "forward_step",
            "turn_angle",
            "success_distance",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"embodiment {self.name!r}: {name} must be > 0, got {getattr(self, name)}")
        if not 0 < self.hfov < 180:
            raise ValueError(f"embodiment {self.name!r}: hfov must be in (0, 180) degrees, got {self.hfov}")
        if self.width < 1 or self.height < 1 or self.width > 4096 or self.height > 4096:
            raise ValueError(f"embodiment {self.name!r}: width/height must be in [1, 4096] pixels")
        if not 0 <= self.min_depth < self.max_depth:
            raise ValueError(
                f"embodiment {self.name!r}: need 0 <= min_depth < max_depth, got {self.min_depth}, {self.max_depth}"
            )
        if self.camera_height > self.agent_height + 1e-9:
            raise ValueError(
                f"embodiment {self.name!r}: camera_height {self.camera_height} is above agent_height {self.agent_height}"
            )


PRESETS: dict[str, Embodiment] = {
    # habitat-lab benchmark/nav/pointnav/*.yaml with the structured-config defaults
    "benchmark": Embodiment(),
    # facebookresearch/habitat-challenge configs/challenge_pointnav2020.local.rgbd.yaml (without noise models)
    "locobot": Embodiment(
        name="locobot",
        agent_height=0.88,
        agent_radius=0.18,
        camera_height=0.88,
        hfov=70.0,
        width=640,
        height=360,
        turn_angle=30.0,
        success_distance=0.36,
        allow_sliding=False,
        min_depth=0.1,
        max_depth=10.0,
    ),
}

EMBODIMENT_FIELDS = tuple(f.name for f in dataclasses.fields(Embodiment) if f.name != "name")


def make_embodiment(preset: str = "benchmark", **overrides: float | int | bool) -> Embodiment:
    """A preset with some fields replaced, e.g. ``make_embodiment("locobot", width=256, height=256)``."""
    if preset not in PRESETS:
        raise ValueError(f"unknown embodiment preset {preset!r}; choose from {sorted(PRESETS)}")
    unknown = sorted(set(overrides) - set(EMBODIMENT_FIELDS))
    if unknown:
        raise ValueError(f"unknown embodiment fields {unknown}; valid fields: {list(EMBODIMENT_FIELDS)}")
    return dataclasses.replace(PRESETS[preset], **overrides)  # type: ignore[arg-type]
