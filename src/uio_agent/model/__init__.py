"""The UIO-2 network: configuration, tokenizer, preprocessing, model, generation, checkpoints."""

from uio_agent.model.batch import Batch, ModelInputs, TextTargets
from uio_agent.model.config import ResamplerConfig, UIOConfig, ViTConfig
from uio_agent.model.preprocess import ImagePatches, ImagePreprocessor, PreprocessConfig
from uio_agent.model.tokenizer import Tokenizer
from uio_agent.model.uio import Encoded, UIOModel

__all__ = [
    "Batch",
    "Encoded",
    "ImagePatches",
    "ImagePreprocessor",
    "ModelInputs",
    "PreprocessConfig",
    "ResamplerConfig",
    "TextTargets",
    "Tokenizer",
    "UIOConfig",
    "UIOModel",
    "ViTConfig",
]
