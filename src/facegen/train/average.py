"""An exponential moving average of the generator's weights (Karras et al. 2018), with
torch's :class:`~torch.optim.swa_utils.AveragedModel`, and its batch-norm statistics
recomputed for the averaged weights with :func:`~torch.optim.swa_utils.update_bn` (the live
generator's running statistics belong to other weights)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, update_bn

from facegen.models import fixed_codes
from facegen.runtime import Runtime

RECALIBRATION_BATCHES, RECALIBRATION_SIZE = 16, 64  # codes the batch statistics are averaged over


def ramp(updates: int) -> float:
    """The decay after ``updates`` updates, (1 + t) / (10 + t), unless ``gan.ema`` caps it
    lower: an average over about the last ninth of the steps so far."""
    return (1 + updates) / (10 + updates)


def ramped_ema(decay: float) -> Callable[[list[torch.Tensor], list[torch.Tensor], torch.Tensor], None]:
    """``AveragedModel``'s update with a decay that ramps up, min(decay, (1 + t) / (10 + t))
    after t updates (as TensorFlow's moving averages do), so that early on the average is not
    dominated by the first weights: at 0.999 and no ramp, the weights of step 1 would still
    weigh 9 % after the default GAN's 2 400 steps. torch's ``get_ema_multi_avg_fn`` has no ramp.
    A cap the ramp never reaches would change nothing: ``facegen.train.check_data`` refuses it."""

    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], updates: torch.Tensor) -> None:
        t = int(updates)
        torch._foreach_lerp_(averaged, current, 1 - min(decay, ramp(t)))

    return update


def weight_average(generator: nn.Module, decay: float) -> AveragedModel:
    """A copy of ``generator`` whose weights follow the ramped moving average of its weights
    (``update_parameters`` after every step); its state is a resume state's part."""
    average = AveragedModel(generator, multi_avg_fn=ramped_ema(decay), use_buffers=False)
    average.module.requires_grad_(False)  # never trained itself: no autograd graph through it
    return average


@torch.no_grad()
def averaged_generator(average: AveragedModel, runtime: Runtime, seed: int) -> nn.Module:
    """The averaged generator in eval mode, its batch-norm statistics the plain average over
    fixed batches of codes (the same every time: a snapshot repeats bit for bit)."""
    generator = average.module
    codes = fixed_codes(RECALIBRATION_BATCHES * RECALIBRATION_SIZE, generator.latent_dim, seed)
    update_bn(codes.split(RECALIBRATION_SIZE), generator, device=runtime.device)
    return generator.eval()
