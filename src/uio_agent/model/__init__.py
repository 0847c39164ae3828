"""The UIO-2 network: configuration, layers, model, generation, checkpoints."""

from uio_agent.model.batch import Batch, ModelInputs, TextTargets
from uio_agent.model.config import ResamplerConfig, UIOConfig, ViTConfig
from uio_agent.model.uio import Encoded, UIOModel

__all__ = [
    "Batch",
    "Encoded",
    "ModelInputs",
    "ResamplerConfig",
    "TextTargets",
    "UIOConfig",
    "UIOModel",
    "ViTConfig",
]
