"""The VAE's loss, for a training batch and for a whole held-out set."""

from __future__ import annotations

import torch

from facegen.models import VAE
from facegen.runtime import Runtime


def vae_loss(
    x: torch.Tensor, x_hat: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, kl_weight: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, recon_loss, kl_loss), each a mean over the batch of per-image sums:
    recon = ||x - x_hat||^2 over pixels, kl = KL[N(mu, sigma^2) || N(0, I)]."""
    x_hat, mu, logvar = x_hat.float(), mu.float(), logvar.float()  # sums in fp32 under autocast
    recon_loss = (x_hat - x).pow(2).flatten(1).sum(1).mean()
    kl_loss = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
    return recon_loss + kl_weight * kl_loss, recon_loss, kl_loss


@torch.no_grad()
def heldout_vae_loss(
    model: VAE, images: torch.Tensor, kl_weight: float, batch_size: int, runtime: Runtime, seed: int
) -> dict[str, float]:
    """Mean loss terms over all of uint8 ``images`` in eval mode, with seeded latent noise so
    the estimate is the same every epoch for the same weights."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    totals = torch.zeros(3, dtype=torch.float64)
    for start in range(0, len(images), batch_size):
        x = runtime.batch(images[start : start + batch_size])
        noise = torch.randn(len(x), model.latent_dim, generator=generator).to(runtime.device)
        with runtime.autocast():
            x_hat, mu, logvar = model(x, noise)
            terms = vae_loss(x, x_hat, mu, logvar, kl_weight)
        totals += torch.stack(terms).double().cpu() * len(x)
    loss, recon_loss, kl_loss = (totals / len(images)).tolist()
    return {"loss": loss, "recon_loss": recon_loss, "kl_loss": kl_loss}
