"""The learning rate of a run, step by step: torch's schedulers, whose state a resumed run
restores."""

from __future__ import annotations

import torch
from torch.optim.lr_scheduler import ConstantLR, CosineAnnealingLR, LRScheduler

from facegen.config import ModelTrainingConfig


def lr_scheduler(
    optimizer: torch.optim.Optimizer, config: ModelTrainingConfig, steps_per_epoch: int
) -> LRScheduler:
    """``config.lr`` throughout (``constant``), or for ``cosine`` half a cosine from
    ``config.lr`` at the first step towards 0 after the last (Loshchilov and Hutter 2017);
    stepped once per training step."""
    if config.lr_schedule == "cosine":
        return CosineAnnealingLR(optimizer, T_max=config.epochs * steps_per_epoch)
    return ConstantLR(optimizer, factor=1.0, total_iters=0)
