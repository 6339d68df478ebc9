"""The VAE's loss, the negative ELBO, for a training batch and for a whole set of faces.

Per image, with D = 4096 pixels in [0, 1], under the pixel variance ``vae.pixel_variance``:

- ``fixed`` (the lab's): loss = ||x - x_hat||^2 + w * KL, the negative ELBO of a Gaussian
  likelihood with variance 1/2 per pixel (up to constants).
- ``calibrated`` (sigma-VAE, Rybkin et al. 2021): the one shared variance sigma^2 takes its
  maximum-likelihood value, the mean squared error per pixel, so
  loss = D/2 log sigma^2 + ||x - x_hat||^2 / (2 sigma^2) + w * KL = D/2 log(mse) + D/2 + w * KL.
  The reconstruction term then weighs as much as the data's actual noise level says.

Both are the negative ELBO up to a constant; :func:`elbo` gives the ELBO itself, in nats per
image, for a pixel variance (1/2 for ``fixed``; for ``calibrated``, the variance it was
trained with: the mean squared error per pixel on the training faces). Training minimises
:func:`vae_loss`; judging reports :func:`mean_terms` and :func:`elbo`.
"""

from __future__ import annotations

import math

import torch

from facegen.models.vae import VAE
from facegen.runtime import Runtime

MIN_LOG_SIGMA = -6.0  # floor of the calibrated log standard deviation (stability)


def vae_objective(
    recon_loss: torch.Tensor, kl_loss: torch.Tensor, kl_weight: float, pixel_variance: str, pixels: int
) -> torch.Tensor:
    """The loss per image from the mean reconstruction error (sum of squares per image) and KL."""
    if pixel_variance == "fixed":
        return recon_loss + kl_weight * kl_loss
    log_variance = torch.log(recon_loss / pixels).clamp_min(2 * MIN_LOG_SIGMA)
    return pixels / 2 * log_variance + recon_loss / (2 * log_variance.exp()) + kl_weight * kl_loss


def fixed_variance(pixel_variance: str) -> float | None:
    """The variance per pixel where ``pixel_variance`` fixes it (``fixed``: 1/2), else None."""
    return 0.5 if pixel_variance == "fixed" else None


def elbo(recon_loss: float, kl_loss: float, pixels: int, variance: float) -> float:
    """The ELBO per image in nats, -(D/2 log(2 pi variance) + recon / (2 variance) + KL), of a
    Gaussian likelihood of ``variance`` per pixel, from the mean reconstruction error (sum of
    squares per image) and KL."""
    return -(pixels / 2 * math.log(2 * math.pi * variance) + recon_loss / (2 * variance) + kl_loss)


def vae_loss(
    x: torch.Tensor,
    x_hat: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    kl_weight: float,
    pixel_variance: str = "fixed",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, recon_loss, kl_loss), each a mean over the batch of per-image values:
    recon = ||x - x_hat||^2 over pixels, kl = KL[N(mu, sigma^2) || N(0, I)]."""
    x_hat, mu, logvar = x_hat.float(), mu.float(), logvar.float()  # sums in fp32 under autocast
    recon_loss = (x_hat - x).pow(2).flatten(1).sum(1).mean()
    kl_loss = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
    return vae_objective(recon_loss, kl_loss, kl_weight, pixel_variance, x[0].numel()), recon_loss, kl_loss


@torch.no_grad()
def mean_terms(
    model: VAE,
    images: torch.Tensor,
    kl_weight: float,
    batch_size: int,
    runtime: Runtime,
    seed: int,
    pixel_variance: str = "fixed",
) -> dict[str, float]:
    """Mean loss terms (``loss``, ``recon_loss``, ``kl_loss``) over all of uint8 ``images``
    in eval mode, with seeded latent noise so the estimate is the same every epoch for the
    same weights (the calibrated variance fitted to the whole set)."""
    model.eval()
    rng = torch.Generator().manual_seed(seed)
    totals = torch.zeros(2, dtype=torch.float64)
    for start in range(0, len(images), batch_size):
        x = runtime.batch(images[start : start + batch_size])
        noise = torch.randn(len(x), model.latent_dim, generator=rng).to(runtime.device)
        with runtime.autocast():
            x_hat, mu, logvar = model(x, noise)
            _, recon_loss, kl_loss = vae_loss(x, x_hat, mu, logvar, kl_weight)
        totals += torch.stack([recon_loss, kl_loss]).double().cpu() * len(x)
    recon_loss, kl_loss = totals / len(images)
    loss = vae_objective(recon_loss, kl_loss, kl_weight, pixel_variance, math.prod(images.shape[1:]))
    return {"loss": loss.item(), "recon_loss": recon_loss.item(), "kl_loss": kl_loss.item()}
