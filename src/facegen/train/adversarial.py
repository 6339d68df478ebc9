"""What every adversarial game here shares, the GAN's (:mod:`~facegen.train.gan`) and the VAE's
critic of its reconstructions (:mod:`~facegen.train.vae_critic`): the discriminator's pass
over real and generated faces, and the objectives on its float32 logits (B, 1): the
non-saturating loss (Goodfellow et al. 2014; the lab's) and FastGAN's self-supervised
reconstruction (Liu et al. 2021)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

Augment = Callable[[torch.Tensor], torch.Tensor]


class DiscriminatorPass(NamedTuple):
    real_logits: torch.Tensor  # float32 (B, 1)
    fake_logits: torch.Tensor  # float32 (B, 1)
    seen_real: torch.Tensor  # the real faces as D saw them (augmented), (B, 1, 64, 64)
    real_features: torch.Tensor | None  # D's (B, C, 8, 8) features of them, where asked


def discriminator_logits(
    discriminator: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    augment: Augment | None = None,
    features: bool = False,
) -> DiscriminatorPass:
    """D's logits for real (B, 1, 64, 64) and fake faces in one pass over both, so D's batch
    norm normalises both alike (the lab's step passes each batch alone, which hides any
    brightness or contrast a whole generated batch gets wrong: SWD 375 against 42,
    docs/choosing-defaults.md). ``features``: also D's features of the real faces."""
    seen = (augment or (lambda x: x))(torch.cat([real, fake]))
    if features:
        logits, seen_features = discriminator.logits_and_features(seen)
    else:
        logits, seen_features = discriminator(seen), None
    n = len(real)
    real_features = seen_features[:n] if features else None
    return DiscriminatorPass(logits[:n].float(), logits[n:].float(), seen[:n], real_features)


def discriminator_losses(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """(d_loss_real, d_loss_fake), each a mean over the batch: cross-entropy with the real
    faces' target at ``real_label`` (one-sided label smoothing below 1) and the fakes' at 0."""
    real_target = torch.full_like(real_logits, real_label)
    return (
        F.binary_cross_entropy_with_logits(real_logits, real_target),
        F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)),
    )


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The generator's loss on D's logits for its faces: cross-entropy with target 1, the
    non-saturating form (it pushes D(G(z)) up rather than 1 - D(G(z)) down)."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def reconstruction_loss(head: nn.Module, features: torch.Tensor, seen_real: torch.Tensor) -> torch.Tensor:
    """Mean squared error per pixel between the reconstruction head's (B, 1, 32, 32) drawing
    from D's (B, C, 8, 8) features and the real faces D saw (B, 1, 64, 64), halved in size."""
    target = F.avg_pool2d(seen_real.detach().float(), 2)
    return F.mse_loss(head(features).float(), target)
