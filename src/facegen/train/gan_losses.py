"""The GAN's objectives, term by term, on float32 logits (B, 1):

- ``ns``: the non-saturating loss of Goodfellow et al. (2014), cross-entropy with the real
  faces' target at ``real_label`` (one-sided label smoothing below 1): the lab's.
- ``hinge``: D minimises max(0, 1 - D(x)) + max(0, 1 + D(G(z))), G minimises -D(G(z))
  (Lim and Ye 2017; FastGAN's and BigGAN's).
- LeCam regularisation (Tseng et al. 2021): D's logits on real faces are pulled below the
  moving average of its logits on generated ones and vice versa, which bounds how far D can
  separate the two when it has only a few hundred faces to memorise.
- FastGAN's self-supervised reconstruction (Liu et al. 2021): the discriminator's decoder
  redraws each real face it saw from its 8 x 8 features (mean squared error at 32 x 32).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LECAM_DECAY = 0.99  # of the logits' moving averages (the reference code's)


def discriminator_losses(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, loss: str = "ns", real_label: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """(d_loss_real, d_loss_fake) of ``loss`` (``gan.loss``), each a mean over the batch;
    ``real_label``: the non-saturating loss's target for real faces."""
    if loss == "hinge":
        return F.relu(1 - real_logits).mean(), F.relu(1 + fake_logits).mean()
    real_target = torch.full_like(real_logits, real_label)
    return (
        F.binary_cross_entropy_with_logits(real_logits, real_target),
        F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)),
    )


def generator_loss(fake_logits: torch.Tensor, loss: str = "ns") -> torch.Tensor:
    """The generator's loss (``gan.loss``) on D's logits for its faces."""
    if loss == "hinge":
        return -fake_logits.mean()
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


class LeCam(nn.Module):
    """The moving averages of D's mean logit on real and on generated faces (buffers, so a
    resumed run carries them on), and the penalty they define."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("real_average", torch.zeros(()))
        self.register_buffer("fake_average", torch.zeros(()))

    def penalty(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """E[relu(D(x) - avg D(G(z)))^2] + E[relu(avg D(x) - D(G(z)))^2], then the averages
        move towards this batch's means."""
        penalty = F.relu(real_logits - self.fake_average).square().mean()
        penalty = penalty + F.relu(self.real_average - fake_logits).square().mean()
        with torch.no_grad():
            self.real_average.lerp_(real_logits.mean().to(self.real_average), 1 - LECAM_DECAY)
            self.fake_average.lerp_(fake_logits.mean().to(self.fake_average), 1 - LECAM_DECAY)
        return penalty


def reconstruction_loss(decoder: nn.Module, features: torch.Tensor, seen_real: torch.Tensor) -> torch.Tensor:
    """Mean squared error per pixel between the decoder's (B, 1, 32, 32) drawing from D's
    (B, C, 8, 8) features and the real faces D saw (B, 1, 64, 64), halved in size."""
    target = F.avg_pool2d(seen_real.detach().float(), 2)
    return F.mse_loss(decoder(features).float(), target)
