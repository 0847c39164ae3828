"""Optimizers and learning-rate schedules, chosen knowingly.

* ``adamw`` (default for from-scratch CPU training): linear warm-up then cosine decay to 10%.
* ``adafactor``: ``torch.optim.Adafactor``, whose relative step size already decays as 1/sqrt(t)
  (``lr`` caps it). It gets a constant multiplier only — stacking T5X's ``rsqrt_decay`` schedule on
  top would decay twice.

Weight decay skips norms, biases, embeddings and the modality embeddings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

OPTIMIZERS = ("adamw", "adafactor")


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, object]]:
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        skip = param.ndim < 2 or "embedder" in name or "embedding" in name or name.endswith("latents")
        (no_decay if skip else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(name: str, params: Iterable[dict[str, object]], lr: float) -> torch.optim.Optimizer:
    if name == "adamw":
        return torch.optim.AdamW(list(params), lr=lr, betas=(0.9, 0.95), eps=1e-8)
    if name == "adafactor":
        return torch.optim.Adafactor(list(params), lr=lr)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")


def build_schedule(
    name: str, optimizer: torch.optim.Optimizer, warmup: int, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Warm-up + cosine (to 10%) for AdamW; constant for Adafactor (it decays on its own)."""
    if name == "adafactor":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
