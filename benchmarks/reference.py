"""The yardstick: training written the way the lab notebook does it.

A DataLoader over a TensorDataset of float32 images, batch 64, default thread settings, a
``.item()`` per batch for the running loss. Kept deliberately plain; do not optimise it."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from facegen.models import GAN, VAE


def make_loader(images_uint8: torch.Tensor, batch_size: int = 64, seed: int = 0) -> DataLoader:
    dataset = TensorDataset(images_uint8.float() / 255.0)  # the whole set as float32
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        generator=torch.Generator().manual_seed(seed),
    )


def vae_step(model: VAE, optimizer: torch.optim.Optimizer, x: torch.Tensor, kl_weight: float = 1.0) -> float:
    x_hat, mu, logvar = model(x)
    recon = ((x_hat - x) ** 2).sum(dim=(1, 2, 3)).mean()
    kl = (-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)).mean()
    loss = recon + kl_weight * kl
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def gan_step(
    gan: GAN,
    g_optimizer: torch.optim.Optimizer,
    d_optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    joint: bool = False,
) -> tuple[float, float]:
    """The lab's step: D sees the real batch and the fake batch in two passes. ``joint``: the
    project's step written as plainly, one D pass over both (the comparison like with like)."""
    z = torch.randn(x.shape[0], gan.latent_dim)  # generator order: the GAN's children are (G, D)
    fake = gan(z)
    ones, zeros = torch.ones(x.shape[0], 1), torch.zeros(x.shape[0], 1)
    if joint:
        real_logits, fake_logits = gan.discriminator(torch.cat([x, fake.detach()])).chunk(2)
    else:
        real_logits, fake_logits = gan.discriminator(x), gan.discriminator(fake.detach())
    d_loss = F.binary_cross_entropy_with_logits(real_logits, ones)
    d_loss = d_loss + F.binary_cross_entropy_with_logits(fake_logits, zeros)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    fake_logits = gan.discriminator(torch.cat([x, fake]))[x.shape[0] :] if joint else gan.discriminator(fake)
    g_loss = F.binary_cross_entropy_with_logits(fake_logits, ones)
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return d_loss.item(), g_loss.item()


def vae_epoch(model: VAE, optimizer: torch.optim.Optimizer, loader: DataLoader, max_batches: int) -> int:
    """Train for up to ``max_batches``; returns the number of images seen."""
    model.train()
    seen = 0
    for i, (x,) in enumerate(loader):
        if i == max_batches:
            break
        vae_step(model, optimizer, x)
        seen += len(x)
    return seen


def gan_epoch(gan: GAN, optimizers: tuple, loader: DataLoader, max_batches: int, joint: bool = False) -> int:
    gan.train()
    seen = 0
    for i, (x,) in enumerate(loader):
        if i == max_batches:
            break
        gan_step(gan, *optimizers, x, joint)
        seen += len(x)
    return seen
