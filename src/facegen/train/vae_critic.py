"""An adversarial term on the VAE's reconstructions (``vae.adversarial``, dcgan only): the
VAE-GAN of Larsen et al. (2016) as later autoencoders use it (VQGAN, Esser et al. 2021).

A pixel loss is minimised by the mean of every face a code could stand for, which is a blur;
a discriminator that must tell real faces from reconstructions of them pays for the detail
the mean leaves out. The VAE keeps its whole loss (the ELBO), and its decoder also pushes
the critic's logit on its reconstructions up. How hard: the adversarial gradient on the
reconstructed pixels is scaled to ``adversarial`` times the ELBO's gradient there (VQGAN's
adaptive weight, taken at the decoder's output instead of its last layer's weights, which
gives the same balance without a second pass back through the critic), so one setting
means the same under either decoder loss and at any stage of training.

The critic is the dcgan discriminator with batch norm (its GAN's, with the same pass and
losses: :mod:`facegen.train.adversarial`), fed real faces and their
reconstructions as one batch through DiffAugment's translation and cutout (a few hundred
faces: the GAN's own measurements), trained with the non-saturating loss. One forward pass
serves both players: the decoder's gradient and the critic's step come from the same logits.
"""

from __future__ import annotations

import torch
from torch import nn

from facegen.train.adversarial import discriminator_logits, discriminator_losses, generator_loss
from facegen.train.augment import diff_augment

EPSILON = 1e-8  # keeps the adaptive weight finite where the critic's gradient vanishes


class ReconstructionCritic:
    """The critic, its optimizer and one round of its game per training step; ``parts`` go in
    the training session, so a resumed run carries them on."""

    def __init__(
        self,
        discriminator: nn.Module,
        optimizer: torch.optim.Optimizer,
        weight: float,
        rng: torch.Generator,
    ) -> None:
        self.discriminator = discriminator
        self.optimizer = optimizer
        self.weight = weight
        self.rng = rng

    def augment(self, faces: torch.Tensor) -> torch.Tensor:
        return diff_augment(faces, self.rng)

    @property
    def parts(self) -> dict[str, nn.Module | torch.optim.Optimizer]:
        return {"critic": self.discriminator, "critic_optimizer": self.optimizer}

    def play(
        self, real: torch.Tensor, reconstruction: torch.Tensor, vae_loss: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The critic's step (D(x) up, D(reconstruction) down), and the VAE's loss with the
        adversarial term added: ``(reconstruction * g).sum()`` for the scaled gradient g of
        the critic's loss at the reconstruction (B, 1, 64, 64), whose gradient is g, so the
        VAE's backward need not go through the critic. Returns (that loss, g_loss, d_loss),
        the last two detached."""
        # one batch through D, so its batch norm normalises both alike
        seen = discriminator_logits(self.discriminator, real.detach(), reconstruction, self.augment)
        g_loss = generator_loss(seen.fake_logits)
        d_loss_real, d_loss_fake = discriminator_losses(seen.real_logits, seen.fake_logits)
        d_loss = d_loss_real + d_loss_fake
        (g_grad,) = torch.autograd.grad(g_loss, reconstruction, retain_graph=True)
        (vae_grad,) = torch.autograd.grad(vae_loss, reconstruction, retain_graph=True)
        parameters = [p for p in self.discriminator.parameters() if p.requires_grad]
        for parameter, grad in zip(parameters, torch.autograd.grad(d_loss, parameters), strict=True):
            parameter.grad = grad  # d_loss's graph reaches the VAE too: backward() would fill its grads
        self.optimizer.step()
        scale = self.weight * vae_grad.float().norm() / (g_grad.float().norm() + EPSILON)
        term = (reconstruction * (scale * g_grad).to(reconstruction.dtype)).sum()
        return vae_loss + term, g_loss.detach(), d_loss.detach()
