"""An exponential moving average of a generator's weights, with its own batch statistics."""

from __future__ import annotations

import copy

import torch
from torch import nn

from facegen.runtime import Runtime


class WeightAverage:
    """An exponential moving average of a generator's weights (Karras et al. 2018), whose
    batch-norm statistics are recomputed for the averaged weights before it is used: the
    live generator's running statistics belong to other weights."""

    def __init__(self, generator: nn.Module, decay: float) -> None:
        self.average = copy.deepcopy(generator).requires_grad_(False)
        self.decay = decay
        self.updates = 0

    @torch.no_grad()
    def update(self, generator: nn.Module) -> None:
        # The decay ramps up, (1 + t) / (10 + t), so that early on the average is not
        # dominated by the random initial weights (as TensorFlow's moving averages do).
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        averaged = list(self.average.parameters())
        torch._foreach_lerp_(averaged, list(generator.parameters()), 1 - decay)

    @torch.no_grad()
    def recalibrated(
        self, runtime: Runtime, batches: int = 16, batch_size: int = 64, seed: int = 0
    ) -> nn.Module:
        """The averaged generator with batch-norm statistics averaged over ``batches`` fixed
        batches of codes, in eval mode."""
        model = self.average
        norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # a plain average over the batches below
        model.train()
        generator = torch.Generator().manual_seed(seed)
        for _ in range(batches):
            z = torch.randn(batch_size, model.latent_dim, generator=generator)
            model(z.to(runtime.device))
        for norm in norms:
            norm.momentum = 0.1
        return model.eval()
