"""The schedules of a run, step by step: the learning rate (torch's schedulers, whose state
a resumed run restores) and the VAE's KL weight."""

from __future__ import annotations

import torch
from torch.optim.lr_scheduler import ConstantLR, CosineAnnealingLR, LRScheduler

from facegen.config import ModelTrainingConfig, VAEConfig


def lr_scheduler(
    optimizer: torch.optim.Optimizer, config: ModelTrainingConfig, steps_per_epoch: int
) -> LRScheduler:
    """``config.lr`` throughout (``constant``), or for ``cosine`` half a cosine from
    ``config.lr`` at the first step towards 0 after the last (Loshchilov and Hutter 2017);
    stepped once per training step."""
    if config.lr_schedule == "cosine":
        return CosineAnnealingLR(optimizer, T_max=config.epochs * steps_per_epoch)
    return ConstantLR(optimizer, factor=1.0, total_iters=0)


def kl_weight(config: VAEConfig, step: int, steps_per_epoch: int) -> float:
    """The KL weight of training step ``step`` (from 0): rising linearly from 0 over
    ``kl_warmup`` epochs, then ``kl_weight``."""
    warmup = config.kl_warmup * steps_per_epoch
    return config.kl_weight * min(1.0, (step + 1) / warmup) if warmup else config.kl_weight
