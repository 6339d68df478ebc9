"""The schedules of a run, step by step from any epoch (so a resumed run picks them up where
it stopped): the learning rate, and the VAE's KL weight."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import torch

from facegen.config import ModelTrainingConfig, VAEConfig


def lr_schedule(config: ModelTrainingConfig, steps_per_epoch: int, first_epoch: int = 1) -> Iterator[float]:
    """The learning rate of every step from ``first_epoch`` on: ``config.lr`` throughout, or
    for ``cosine`` half a cosine from ``config.lr`` at the first step towards 0 after the last."""
    total = config.epochs * steps_per_epoch
    step = (first_epoch - 1) * steps_per_epoch
    while True:
        fraction = step / total if config.lr_schedule == "cosine" else 0.0
        yield config.lr * 0.5 * (1 + math.cos(math.pi * min(fraction, 1.0)))
        step += 1


def kl_schedule(config: VAEConfig, steps_per_epoch: int, first_epoch: int = 1) -> Iterator[float]:
    """The KL weight of every step from ``first_epoch`` on: rising linearly from 0 over
    ``kl_warmup`` epochs, then ``kl_weight``."""
    warmup = config.kl_warmup * steps_per_epoch
    step = (first_epoch - 1) * steps_per_epoch
    while True:
        step += 1
        yield config.kl_weight * min(1.0, step / warmup) if warmup else config.kl_weight


def set_lr(optimizers: Iterable[torch.optim.Optimizer], lr: float) -> None:
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            group["lr"] = lr
