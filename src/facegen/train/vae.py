"""The VAE's training loop: an epoch of seeded batches, validation on the held-out faces, and
at every snapshot the prior fitted to the training faces' codes."""

from __future__ import annotations

import contextlib
import logging

import torch
from torch.optim.lr_scheduler import LRScheduler
from tqdm import tqdm

from facegen import History
from facegen.config import TrainConfig, VAEConfig
from facegen.models import ARCHITECTURES, VAE
from facegen.models.elbo import mean_terms, vae_loss
from facegen.runtime import Runtime, make_runtime, seed_everything
from facegen.train.augment import augment_faces
from facegen.train.log import TrainingLog
from facegen.train.loop import Session, SnapshotFn, batches, run_epochs
from facegen.train.resume import Resume
from facegen.train.schedules import lr_scheduler
from facegen.train.vae_critic import ReconstructionCritic

CRITIC_LR, CRITIC_BETAS = 4e-4, (0.5, 0.999)  # the GAN's defaults

log = logging.getLogger(__name__)


def vae_step(
    model: VAE,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    noise: torch.Tensor,
    kl_weight: float,
    autocast: contextlib.AbstractContextManager | None = None,
    pixel_variance: str = "fixed",
    critic: ReconstructionCritic | None = None,
) -> torch.Tensor:
    """One optimisation step on a float batch x (B, 1, 64, 64) with latent noise (B, latent_dim).
    ``autocast`` (if given) covers the forward pass; ``critic`` takes its own step and adds
    its adversarial term. Returns the detached (loss, recon_loss, kl_loss), and with a
    critic (g_loss, d_loss) after them; no ``.item()``, so no device sync."""
    autocast = autocast or contextlib.nullcontext()
    with autocast:
        x_hat, mu, logvar = model(x, noise)
        loss, recon_loss, kl_loss = vae_loss(x, x_hat, mu, logvar, kl_weight, pixel_variance)
        terms = [loss, recon_loss, kl_loss]
        if critic is not None:
            loss, g_loss, d_loss = critic.play(x, x_hat, loss)  # the critic steps here
            terms += [g_loss, d_loss]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return torch.stack(terms).detach()


def vae_epoch(
    model: VAE,
    optimizer: torch.optim.Optimizer,
    scheduler: LRScheduler,
    images: torch.Tensor,
    config: VAEConfig,
    rng: torch.Generator,
    runtime: Runtime,
    progress: tqdm | None = None,
    critic: ReconstructionCritic | None = None,
) -> torch.Tensor:
    """One pass over uint8 ``images`` in seeded random batches, the learning rate stepped by
    ``scheduler``, a step of ``progress`` per batch; returns the mean (loss, recon_loss,
    kl_loss[, g_loss, d_loss]) over batches, float64 on the CPU."""
    model.train()
    totals = torch.zeros(len(vae_terms(critic)), dtype=torch.float64, device=runtime.device)
    order = batches(len(images), config.batch_size, rng)
    for index in order:
        x = augment_faces(runtime.batch(images[index]), config, rng)  # uint8 in memory, float per batch
        noise = torch.randn(len(x), config.latent_dim, generator=rng).to(runtime.device)
        totals += vae_step(
            model, optimizer, x, noise, config.kl_weight, runtime.autocast(), config.pixel_variance, critic
        ).double()
        scheduler.step()
        if progress is not None:
            progress.update()
    return (totals / len(order)).cpu()


def vae_terms(critic: ReconstructionCritic | None) -> tuple[str, ...]:
    """What an epoch's training row holds."""
    return ("loss", "recon_loss", "kl_loss") + (("g_loss", "d_loss") if critic else ())


def make_critic(config: VAEConfig, runtime: Runtime, rng: torch.Generator) -> ReconstructionCritic | None:
    """The adversarial critic of ``vae.adversarial`` (None when off): the architecture's
    discriminator (dcgan only: :meth:`VAEConfig.check`), with the GAN's optimizer settings."""
    if config.adversarial <= 0:
        return None
    discriminator = runtime.place(ARCHITECTURES[config.architecture].discriminator())
    optimizer = runtime.adam(discriminator.parameters(), CRITIC_LR, CRITIC_BETAS)
    return ReconstructionCritic(discriminator, optimizer, config.adversarial, rng)


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
    training_log: TrainingLog | None = None,
) -> tuple[VAE, History]:
    """Train the VAE on uint8 (N, 1, 64, 64) images (at least a batch of them, and no fewer
    than the mixture's components: :func:`facegen.train.check_data`); validate on the whole
    ``val_images`` every epoch; returns the model and every epoch's row. With ``prior:
    fitted`` (``mixture``) every snapshot carries the Gaussian (the Gaussian mixture) fitted
    to the training faces' codes at that epoch. With ``resume``, carry on from its saved
    state if it has one, and save the state at every snapshot."""
    rng = seed_everything(config.seed)
    runtime = make_runtime(config.device, train)
    model = runtime.place(VAE(config.latent_dim, config.architecture, config.prior_components or 0))
    optimizer = runtime.adam(model.parameters(), config.lr, config.betas)
    steps = len(train_images) // config.batch_size
    scheduler = lr_scheduler(optimizer, config, steps)
    critic = make_critic(config, runtime, rng)
    parts = {"model": model, "optimizer": optimizer, "scheduler": scheduler} | (
        critic.parts if critic else {}
    )
    session = Session("vae", config, parts, rng, steps)
    log.info("vae: %d train / %d val images on %s", len(train_images), len(val_images), runtime)

    def train_epoch(epoch: int, progress: tqdm) -> dict[str, float]:
        progress.set_description(f"vae epoch {epoch}/{config.epochs}", refresh=False)
        losses = vae_epoch(model, optimizer, scheduler, train_images, config, rng, runtime, progress, critic)
        val = mean_terms(
            model,
            val_images,
            config.kl_weight,
            config.batch_size,
            runtime,
            config.seed,
            config.pixel_variance,
        )
        train_terms = dict(zip(vae_terms(critic), losses.tolist(), strict=True))
        return {f"train_{k}": v for k, v in train_terms.items()} | {f"val_{k}": v for k, v in val.items()}

    def snapshot_model() -> VAE:
        if config.prior == "fitted":
            model.fit_prior(posterior_means(model, train_images, runtime))
        elif config.prior == "mixture":
            model.fit_mixture(posterior_means(model, train_images, runtime), config.seed)
        return model

    _, history = run_epochs(session, train_epoch, snapshot_model, on_snapshot, training_log, resume)
    return model.eval(), history
