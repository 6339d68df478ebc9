"""The VAE's training loop: returns the model and a per-epoch history (a list of dicts of
floats) and hands the model to ``on_snapshot`` every ``vae.snapshot_every`` epochs and at the
last."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

import torch

from facegen import FacegenError, History
from facegen.checkpoints import SnapshotFn
from facegen.config import TrainConfig, VAEConfig
from facegen.losses import heldout_vae_loss, vae_loss
from facegen.models import VAE
from facegen.resume import Resume
from facegen.runtime import Runtime, make_runtime, seed_everything
from facegen.train.loop import (
    augment_faces,
    batches,
    check_batches,
    check_finite,
    epoch_bar,
    progress,
    random_states,
    restore_random_states,
    snapshot_due,
)
from facegen.train.schedules import kl_schedule, lr_schedule, set_lr

log = logging.getLogger(__name__)


def vae_step(
    model: VAE,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    noise: torch.Tensor,
    kl_weight: float,
    autocast: contextlib.AbstractContextManager | None = None,
    decoder: str = "fixed",
) -> torch.Tensor:
    """One optimisation step on a float batch x (B, 1, 64, 64) with latent noise (B, latent_dim).
    ``autocast`` (if given) covers the forward pass. Returns the detached
    (loss, recon_loss, kl_loss); no ``.item()``, so no device sync."""
    with autocast or contextlib.nullcontext():
        x_hat, mu, logvar = model(x, noise)
        loss, recon_loss, kl_loss = vae_loss(x, x_hat, mu, logvar, kl_weight, decoder)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return torch.stack([loss, recon_loss, kl_loss]).detach()


def vae_epoch(
    model: VAE,
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    config: VAEConfig,
    generator: torch.Generator,
    runtime: Runtime,
    kl_weights: Iterator[float],
    desc: str = "vae",
    learning_rates: Iterator[float] | None = None,
) -> torch.Tensor:
    """One pass over uint8 ``images`` in seeded random batches, the KL weight of each step
    from ``kl_weights`` and its learning rate from ``learning_rates`` (None: as the optimizer
    has it); returns the mean (loss, recon_loss, kl_loss) over batches, float64
    on the CPU."""
    model.train()
    totals = torch.zeros(3, dtype=torch.float64, device=runtime.device)
    order = batches(len(images), config.batch_size, generator)
    for index in progress(order, desc):
        x = augment_faces(runtime.batch(images[index]), config, generator)  # uint8 in memory, float per batch
        noise = torch.randn(len(x), config.latent_dim, generator=generator).to(runtime.device)
        if learning_rates is not None:
            set_lr([optimizer], next(learning_rates))
        step = vae_step(model, optimizer, x, noise, next(kl_weights), runtime.autocast(), config.decoder)
        totals += step.double()
    return (totals / len(order)).cpu()


@torch.no_grad()
def posterior_means(
    model: VAE, images: torch.Tensor, runtime: Runtime, batch_size: int = 256
) -> torch.Tensor:
    """(N, latent_dim) encoder means of uint8 ``images``, in eval mode, on the CPU."""
    model.eval()
    with runtime.autocast():
        means = [
            model.encode(runtime.batch(images[i : i + batch_size]))[0].float()
            for i in range(0, len(images), batch_size)
        ]
    return torch.cat(means).cpu()


def train_vae(
    train_images: torch.Tensor,
    val_images: torch.Tensor,
    config: VAEConfig,
    on_snapshot: SnapshotFn,
    train: TrainConfig = TrainConfig(),
    resume: Resume | None = None,
) -> tuple[VAE, History]:
    """Train the VAE on uint8 (N, 1, 64, 64) images; validate on the whole ``val_images``.
    With ``prior: fitted`` (``mixture``) every snapshot carries the Gaussian (the Gaussian
    mixture) fitted to the training faces' codes at that epoch. With ``resume``, carry on from its saved state if it has one, and
    save the state at every snapshot."""
    check_batches(len(train_images), config.batch_size, "vae")
    generator = seed_everything(config.seed)
    runtime = make_runtime(config.device, train)
    components = config.prior_components if config.prior == "mixture" else 0
    if components > len(train_images):
        raise FacegenError(
            f"vae: vae.prior_components = {components} is more than the {len(train_images)} training "
            "faces whose codes the mixture is fitted to; lower it."
        )
    model = runtime.place(VAE(config.latent_dim, config.architecture, components))
    optimizer = runtime.adam(model.parameters(), config.lr, config.betas)
    log.info("vae: %d train / %d val images on %s", len(train_images), len(val_images), runtime)
    history: History = []
    state = resume.load() if resume else None
    if state:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        restore_random_states(generator, state["random"])
        history = state["history"]
    first_epoch = len(history) + 1
    steps_per_epoch = len(train_images) // config.batch_size
    kl_weights = kl_schedule(config, steps_per_epoch, first_epoch)
    learning_rates = lr_schedule(config, steps_per_epoch, first_epoch)
    for epoch in epoch_bar(first_epoch, config.epochs, "vae"):
        started = time.perf_counter()
        desc = f"vae epoch {epoch}/{config.epochs}"
        losses = vae_epoch(
            model, optimizer, train_images, config, generator, runtime, kl_weights, desc, learning_rates
        ).tolist()
        val = heldout_vae_loss(
            model, val_images, config.kl_weight, config.batch_size, runtime, config.seed, config.decoder
        )
        row = {
            "epoch": epoch,
            "train_loss": losses[0],
            "train_recon_loss": losses[1],
            "train_kl_loss": losses[2],
            "val_loss": val["loss"],
            "val_recon_loss": val["recon_loss"],
            "val_kl_loss": val["kl_loss"],
        }
        check_finite("vae", epoch, row)
        history.append(row)
        log.info(
            "vae epoch %3d/%d  loss %.2f (recon %.2f, kl %.2f)  val loss %.2f (recon %.2f, kl %.2f)  %.1fs",
            epoch, config.epochs, *losses, val["loss"], val["recon_loss"], val["kl_loss"],
            time.perf_counter() - started,
        )  # fmt: skip
        if snapshot_due(epoch, config.epochs, config.snapshot_every):
            if config.prior == "fitted":
                model.fit_prior(posterior_means(model, train_images, runtime))
            elif config.prior == "mixture":
                model.fit_mixture(posterior_means(model, train_images, runtime), config.seed)
            on_snapshot(epoch, model)
            if resume:
                resume.save(epoch, {
                    "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "random": random_states(generator), "history": history,
                })  # fmt: skip
    return model.eval(), history
