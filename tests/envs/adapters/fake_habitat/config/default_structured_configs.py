"""The two measurement configs the adapter adds (``habitat.config.default_structured_configs``)."""

from __future__ import annotations

from fake_habitat import Config


def SoftSPLMeasurementConfig() -> Config:
    return Config(type="SoftSPL")


def CollisionsMeasurementConfig() -> Config:
    return Config(type="Collisions")
