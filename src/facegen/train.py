"""Training loops for the VAE and the GAN. Each returns the model and a per-epoch history
(a list of dicts of floats) and hands the model to ``on_snapshot`` every
``snapshot_every`` epochs of the model's section and at the last epoch."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from facegen import FacegenError, History
from facegen.checkpoints import SnapshotFn
from facegen.config import GANConfig, TrainConfig, VAEConfig
from facegen.losses import heldout_vae_loss, vae_loss
from facegen.models import GAN, VAE
from facegen.runtime import Runtime, make_runtime, seed_everything

log = logging.getLogger(__name__)

GAN_TERMS = ("d_loss", "d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake")


def batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """A seeded shuffle of range(n) cut into full batches (the remainder is dropped, as
    batch norm on a batch of one is undefined; it is a different remainder each epoch)."""
    order = torch.randperm(n, generator=generator)
    return list(order[: n - n % batch_size].split(batch_size))


def _check_batches(n: int, batch_size: int, section: str) -> None:
    if n < batch_size:
        raise FacegenError(
            f"{section}: only {n} training images, fewer than one batch of {section}.batch_size = "
            f"{batch_size}; lower the batch size or bring more images."
        )


def _check_finite(section: str, epoch: int, row: dict[str, float]) -> None:
    bad = {k: v for k, v in row.items() if not math.isfinite(v)}
    if bad:
        name, value = next(iter(bad.items()))
        raise FacegenError(
            f"{section}: {name} became {value} at epoch {epoch}; training stopped before saving. "
            f"Try a lower {section}.lr."
        )


def _progress(items: list[torch.Tensor], desc: str) -> Iterator[torch.Tensor]:
    # disable=None: a bar on a terminal, none in logs and CI.
    return tqdm(items, desc=desc, unit="batch", leave=False, dynamic_ncols=True, disable=None)


def vae_step(
    model: VAE,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    noise: torch.Tensor,
    kl_weight: float,
    autocast: contextlib.AbstractContextManager | None = None,
) -> torch.Tensor:
    """One optimisation step on a float batch x (B, 1, 64, 64) with latent noise (B, latent_dim).
    ``autocast`` (if given) covers the forward pass. Returns the detached
    (loss, recon_loss, kl_loss); no ``.item()``, so no device sync."""
    with autocast or contextlib.nullcontext():
        x_hat, mu, logvar = model(x, noise)
        loss, recon_loss, kl_loss = vae_loss(x, x_hat, mu, logvar, kl_weight)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return torch.stack([loss, recon_loss, kl_loss]).detach()


def gan_step(
    gan: GAN,
    g_optimizer: torch.optim.Optimizer,
    d_optimizer: torch.optim.Optimizer,
    real: torch.Tensor,
    z: torch.Tensor,
    real_label: float = 1.0,
    autocast: contextlib.AbstractContextManager | None = None,
) -> torch.Tensor:
    """One discriminator step then one generator step (the textbook DCGAN step).
    Returns the detached (d_loss, d_loss_real, d_loss_fake, g_loss, mean D(x), mean D(G(z)))."""
    discriminator = gan.discriminator
    autocast = autocast or contextlib.nullcontext()
    # Discriminator: push D(x) to real_label (0.9: one-sided label smoothing keeps D from
    # overpowering G on a small data set) and D(G(z)) to 0; the fake is detached so no
    # gradient reaches the generator.
    with autocast:
        fake = gan.generate(z)  # (B, 1, 64, 64) in (0, 1)
        real_logits = discriminator(real).float()
        fake_logits = discriminator(fake.detach()).float()
    d_loss_real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_label))
    d_loss_fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    d_loss = d_loss_real + d_loss_fake
    d_optimizer.zero_grad(set_to_none=True)
    d_loss.backward()
    d_optimizer.step()

    # Generator: push D(G(z)) to 1 through the updated discriminator. D's weights are frozen
    # for this pass: their gradients would be thrown away, and skipping them saves about a
    # third of the backward pass through D.
    discriminator.requires_grad_(False)
    with autocast:
        g_logits = discriminator(fake).float()
    g_loss = F.binary_cross_entropy_with_logits(g_logits, torch.ones_like(g_logits))
    g_optimizer.zero_grad(set_to_none=True)
    g_loss.backward()
    g_optimizer.step()
    discriminator.requires_grad_(True)

    d_real, d_fake = torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean()
    return torch.stack([d_loss, d_loss_real, d_loss_fake, g_loss, d_real, d_fake]).detach()


def vae_epoch(
    model: VAE,
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    config: VAEConfig,
    generator: torch.Generator,
    runtime: Runtime,
    desc: str = "vae",
) -> torch.Tensor:
    """One pass over uint8 ``images`` in seeded random batches; returns the mean
    (loss, recon_loss, kl_loss) over batches, float64 on the CPU."""
    model.train()
    totals = torch.zeros(3, dtype=torch.float64, device=runtime.device)
    order = batches(len(images), config.batch_size, generator)
    for index in _progress(order, desc):
        x = runtime.batch(images[index])  # uint8 in memory, float per batch
        noise = torch.randn(len(x), config.latent_dim, generator=generator).to(runtime.device)
        totals += vae_step(model, optimizer, x, noise, config.kl_weight, runtime.autocast()).double()
    return (totals / len(order)).cpu()


def gan_epoch(
    gan: GAN,
    optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
    images: torch.Tensor,
    config: GANConfig,
    generator: torch.Generator,
    runtime: Runtime,
    desc: str = "gan",
) -> torch.Tensor:
    """One pass over uint8 ``images``; returns the means over batches of
    (d_loss, d_loss_real, d_loss_fake, g_loss, D(x), D(G(z))), float64 on the CPU."""
    gan.train()
    totals = torch.zeros(len(GAN_TERMS), dtype=torch.float64, device=runtime.device)
    order = batches(len(images), config.batch_size, generator)
    for index in _progress(order, desc):
        real = runtime.batch(images[index])
        z = torch.randn(len(real), config.latent_dim, generator=generator).to(runtime.device)
        totals += gan_step(gan, *optimizers, real, z, config.real_label, runtime.autocast()).double()
    return (totals / len(order)).cpu()


def _snapshot_due(epoch: int, epochs: int, every: int) -> bool:
    return epoch % every == 0 or epoch == epochs


def train_vae(
    train_images: torch.Tensor,
    val_images: torch.Tensor,
    config: VAEConfig,
    on_snapshot: SnapshotFn,
    train: TrainConfig = TrainConfig(),
) -> tuple[VAE, History]:
    """Train the VAE on uint8 (N, 1, 64, 64) images; validate on the whole ``val_images``."""
    _check_batches(len(train_images), config.batch_size, "vae")
    generator = seed_everything(config.seed)
    runtime = make_runtime(config.device, train)
    model = runtime.place(VAE(config.latent_dim))
    optimizer = runtime.adam(model.parameters(), config.lr, config.betas)
    log.info("vae: %d train / %d val images on %s", len(train_images), len(val_images), runtime)
    history: History = []
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        desc = f"vae epoch {epoch}/{config.epochs}"
        losses = vae_epoch(model, optimizer, train_images, config, generator, runtime, desc).tolist()
        val = heldout_vae_loss(model, val_images, config.kl_weight, config.batch_size, runtime, config.seed)
        row = {
            "epoch": epoch,
            "train_loss": losses[0],
            "train_recon_loss": losses[1],
            "train_kl_loss": losses[2],
            "val_loss": val["loss"],
            "val_recon_loss": val["recon_loss"],
            "val_kl_loss": val["kl_loss"],
        }
        _check_finite("vae", epoch, row)
        history.append(row)
        log.info(
            "vae epoch %3d/%d  loss %.2f (recon %.2f, kl %.2f)  val loss %.2f (recon %.2f, kl %.2f)  %.1fs",
            epoch, config.epochs, *losses, val["loss"], val["recon_loss"], val["kl_loss"],
            time.perf_counter() - started,
        )  # fmt: skip
        if _snapshot_due(epoch, config.epochs, config.snapshot_every):
            on_snapshot(epoch, model)
    return model.eval(), history


def train_gan(
    train_images: torch.Tensor,
    config: GANConfig,
    on_snapshot: SnapshotFn,
    train: TrainConfig = TrainConfig(),
) -> tuple[GAN, History]:
    """Train the GAN on uint8 (N, 1, 64, 64) images with the textbook non-saturating loss:
    a discriminator step on a real and a detached fake batch, then a generator step."""
    _check_batches(len(train_images), config.batch_size, "gan")
    generator_rng = seed_everything(config.seed)
    runtime = make_runtime(config.device, train)
    gan = runtime.place(GAN(config.latent_dim))
    g_optimizer = runtime.adam(gan.generator.parameters(), config.lr, config.betas)
    d_optimizer = runtime.adam(gan.discriminator.parameters(), config.lr, config.betas)
    log.info("gan: %d train images on %s", len(train_images), runtime)
    history: History = []
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        desc = f"gan epoch {epoch}/{config.epochs}"
        optimizers = (g_optimizer, d_optimizer)
        means = gan_epoch(gan, optimizers, train_images, config, generator_rng, runtime, desc).tolist()
        row = {"epoch": epoch} | dict(zip(GAN_TERMS, means, strict=True))
        _check_finite("gan", epoch, row)
        history.append(row)
        log.info(
            "gan epoch %3d/%d  d_loss %.3f (real %.3f, fake %.3f)  g_loss %.3f  D(x) %.3f  D(G(z)) %.3f  %.1fs",
            epoch, config.epochs, *means, time.perf_counter() - started,
        )  # fmt: skip
        if _snapshot_due(epoch, config.epochs, config.snapshot_every):
            on_snapshot(epoch, gan)
    return gan.eval(), history
