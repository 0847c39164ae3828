"""Initialisation for training from scratch (no pretrained CLIP or UIO-2 weights offline).

Two priors that let a small model learn placements quickly (measured in a CPU experiment, issue 5):

* the ViT's position table starts as 2-D sin-cos features of the patch grid, centred over the grid,
  so patches know where they are before any learning;
* the 1000 location rows of the tied text embedding start as Fourier features of their bin value,
  so neighbouring bins start similar and the output head is smooth over space from step 0.

Official checkpoints never go through this.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from uio_agent.model.tokenizer import LOCATION_START
from uio_agent.model.uio import UIOModel

NUM_BINS = 1000


def sincos_2d(rows: int, cols: int, dim: int, temperature: float = 10000.0) -> Tensor:
    """[rows*cols, dim] sin-cos features: a quarter of the channels each for sin/cos of row and column."""
    if dim % 4:
        raise ValueError(f"sin-cos position features need a dimension divisible by 4, got {dim}")
    quarter = dim // 4
    omega = 1.0 / temperature ** (torch.arange(quarter, dtype=torch.float32) / quarter)
    r, c = torch.meshgrid(
        torch.arange(rows, dtype=torch.float32), torch.arange(cols, dtype=torch.float32), indexing="ij"
    )
    r_angles = r.reshape(-1, 1) * omega
    c_angles = c.reshape(-1, 1) * omega
    return torch.cat([r_angles.sin(), r_angles.cos(), c_angles.sin(), c_angles.cos()], dim=1)


def location_fourier(dim: int, max_frequency: float = 300.0) -> Tensor:
    """[1000, dim] rows for bins 0..999: sin/cos of the bin value at log-spaced frequencies, unit variance."""
    if dim % 2:
        raise ValueError(f"Fourier location features need an even dimension, got {dim}")
    value = torch.arange(NUM_BINS, dtype=torch.float32) / (NUM_BINS - 1)
    frequencies = torch.logspace(0.0, math.log10(max_frequency), dim // 2)
    angles = 2 * math.pi * value[:, None] * frequencies[None, :]
    return math.sqrt(2.0) * torch.cat([angles.sin(), angles.cos()], dim=1)


@torch.no_grad()
def init_from_scratch(model: UIOModel) -> None:
    """Apply both priors in place."""
    vit = model.vision_transformer
    side = model.config.vit.pos_grid
    table = sincos_2d(side, side, model.config.vit.emb_dim)
    # centred over the grid: raw sin-cos shares a large constant part (cos ~ 1 on the low frequencies),
    # so patches half the image apart start at cosine similarity 0.85; centred, 0.41 (same mean norm)
    centred = table - table.mean(0)
    centred *= table.norm(dim=1).mean() / centred.norm(dim=1).mean()
    vit.positional_embedding[1:] = centred.to(vit.positional_embedding.dtype)
    vit.positional_embedding[0] = 0.0
    weight = model.text_token_embedder.weight
    rows = location_fourier(model.config.emb_dim).to(weight.dtype)
    # id 32000 + j is bin 999 - j
    weight[LOCATION_START : LOCATION_START + NUM_BINS] = rows.flip(0)
