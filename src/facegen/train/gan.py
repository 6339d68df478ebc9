"""The GAN's training loop: a discriminator step then a generator step per batch, with the
non-saturating loss, and the generator's weight average for what is shown and saved."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import torch
from torch.optim.lr_scheduler import LRScheduler
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from facegen import History
from facegen.config import GANConfig, TrainConfig
from facegen.models import GAN
from facegen.runtime import Runtime, make_runtime, seed_everything
from facegen.train.adversarial import (
    Augment,
    discriminator_logits,
    discriminator_losses,
    generator_loss,
    reconstruction_loss,
)
from facegen.train.augment import augment_faces, diff_augment
from facegen.train.average import averaged_generator, weight_average
from facegen.train.log import TrainingLog
from facegen.train.loop import Session, SnapshotFn, batches, run_epochs
from facegen.train.resume import Resume
from facegen.train.schedules import lr_scheduler

log = logging.getLogger(__name__)

# What an epoch's row holds (d_loss is their sum: d_loss_real + d_loss_fake).
GAN_TERMS = ("d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake")
# the reconstruction head lazily too, every 2nd step twice as strongly: as good a GAN, its
# stage 344 s against 360-381 s (docs/choosing-defaults.md, ninth round)
HEAD_INTERVAL = 2


@dataclass(frozen=True)
class StepPlan:
    """What one training step adds to the plain game: what the discriminator sees
    (``augment``: DiffAugment; None: the faces as they are), and whether it pays the
    reconstruction head's loss (``reconstruct``) this step."""

    augment: Augment | None = None
    reconstruct: bool = True


def discriminator_step(
    gan: GAN,
    optimizer: torch.optim.Optimizer,
    real: torch.Tensor,
    fake: torch.Tensor,
    config: GANConfig,
    autocast: contextlib.AbstractContextManager,
    plan: StepPlan,
) -> tuple[torch.Tensor, ...]:
    """Push D(x) up and D(G(z)) down; ``fake`` comes detached, so no gradient reaches the
    generator; ``plan`` adds its terms. Returns (d_loss_real, d_loss_fake, real_logits,
    fake_logits)."""
    head = config.recon_head > 0 and plan.reconstruct
    with autocast:
        seen = discriminator_logits(gan.discriminator, real, fake, plan.augment, features=head)
        recon = (
            reconstruction_loss(gan.discriminator.recon_head, seen.real_features, seen.seen_real)
            if head
            else 0
        )
    d_loss_real, d_loss_fake = discriminator_losses(seen.real_logits, seen.fake_logits, config.real_label)
    objective = d_loss_real + d_loss_fake + config.recon_head * HEAD_INTERVAL * recon
    optimizer.zero_grad(set_to_none=True)
    objective.backward()
    optimizer.step()
    return d_loss_real, d_loss_fake, seen.real_logits, seen.fake_logits


def generator_step(
    gan: GAN,
    optimizer: torch.optim.Optimizer,
    real: torch.Tensor,
    fake: torch.Tensor,
    config: GANConfig,
    autocast: contextlib.AbstractContextManager,
    augment: Augment | None,
) -> torch.Tensor:
    """Push D(G(z)) up through the updated discriminator. D's weights are frozen for this
    pass: their gradients would be thrown away, and skipping them saves about a third of the
    backward pass through D. Returns g_loss."""
    gan.discriminator.requires_grad_(False)
    with autocast:
        seen = discriminator_logits(gan.discriminator, real.detach(), fake, augment)
    g_loss = generator_loss(seen.fake_logits)
    optimizer.zero_grad(set_to_none=True)
    g_loss.backward()
    optimizer.step()
    gan.discriminator.requires_grad_(True)
    return g_loss


def gan_step(
    gan: GAN,
    optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
    real: torch.Tensor,
    z: torch.Tensor,
    config: GANConfig,
    autocast: contextlib.AbstractContextManager | None = None,
    plan: StepPlan = StepPlan(),
) -> torch.Tensor:
    """One discriminator step then one generator step on real faces (B, 1, 64, 64) and codes
    z (B, latent_dim), with the generator's and the discriminator's ``optimizers``. Returns
    the detached (d_loss_real, d_loss_fake, g_loss, mean D(x), mean D(G(z)))."""
    autocast = autocast or contextlib.nullcontext()
    with autocast:
        fake = gan.generate(z)  # (B, 1, 64, 64) in (0, 1)
    g_optimizer, d_optimizer = optimizers
    d_loss_real, d_loss_fake, real_logits, fake_logits = discriminator_step(
        gan, d_optimizer, real, fake.detach(), config, autocast, plan
    )
    g_loss = generator_step(gan, g_optimizer, real, fake, config, autocast, plan.augment)
    d_real, d_fake = torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean()
    return torch.stack([d_loss_real, d_loss_fake, g_loss, d_real, d_fake]).detach()


def step_plan(config: GANConfig, rng: torch.Generator, step: int) -> StepPlan:
    """The plan of training step ``step`` (from 0): DiffAugment if on, drawn from ``rng``; the
    head every :data:`HEAD_INTERVAL` steps."""
    augment = (lambda x: diff_augment(x, rng)) if config.diffaugment else None
    return StepPlan(augment, step % HEAD_INTERVAL == 0)


def gan_epoch(
    gan: GAN,
    optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
    schedulers: tuple[LRScheduler, LRScheduler],
    images: torch.Tensor,
    config: GANConfig,
    rng: torch.Generator,
    runtime: Runtime,
    average: AveragedModel | None = None,
    first_step: int = 0,
    progress: tqdm | None = None,
) -> torch.Tensor:
    """One pass over uint8 ``images``, both learning rates stepped by ``schedulers``, a step
    of ``progress`` per batch; returns the means over batches of (d_loss_real, d_loss_fake,
    g_loss, D(x), D(G(z))), float64 on the CPU."""
    gan.train()
    totals = torch.zeros(len(GAN_TERMS), dtype=torch.float64, device=runtime.device)
    order = batches(len(images), config.batch_size, rng)
    for step, index in enumerate(order, start=first_step):
        plan = step_plan(config, rng, step)
        real = augment_faces(runtime.batch(images[index]), config, rng)
        z = torch.randn(len(real), config.latent_dim, generator=rng).to(runtime.device)
        totals += gan_step(gan, optimizers, real, z, config, runtime.autocast(), plan).double()
        for scheduler in schedulers:
            scheduler.step()
        if average is not None:
            average.update_parameters(gan.generator)
        if progress is not None:
            progress.update()
    return (totals / len(order)).cpu()


def build_gan(config: GANConfig) -> GAN:
    """The GAN ``config`` describes, freshly initialised."""
    return GAN(config.latent_dim, config.architecture, config.recon_head > 0)


def train_gan(
    train_images: torch.Tensor,
    config: GANConfig,
    on_snapshot: SnapshotFn,
    train: TrainConfig = TrainConfig(),
    resume: Resume | None = None,
    training_log: TrainingLog | None = None,
) -> tuple[GAN, History]:
    """Train the GAN on uint8 (N, 1, 64, 64) images, at least a batch of them (see
    :func:`gan_step`). With ``ema`` the snapshots and the returned model carry the averaged
    generator. Returns the model and every epoch's row; ``resume`` as for
    :func:`~facegen.train.vae.train_vae`."""
    rng = seed_everything(config.seed)
    runtime = make_runtime(config.device, train)
    gan = runtime.place(build_gan(config))
    optimizers = (
        runtime.adam(gan.generator.parameters(), config.lr, config.betas),
        runtime.adam(gan.discriminator.parameters(), config.lr, config.betas),
    )
    steps = len(train_images) // config.batch_size
    schedulers = tuple(lr_scheduler(optimizer, config, steps) for optimizer in optimizers)
    average = weight_average(gan.generator, config.ema) if config.ema > 0 else None
    parts = {"model": gan, "g_optimizer": optimizers[0], "d_optimizer": optimizers[1]}
    parts |= {"g_scheduler": schedulers[0], "d_scheduler": schedulers[1]}
    parts |= {"average": average} if average else {}
    session = Session("gan", config, parts, rng, steps)
    log.info("gan: %d train images on %s", len(train_images), runtime)

    def train_epoch(epoch: int, progress: tqdm) -> dict[str, float]:
        progress.set_description(f"gan epoch {epoch}/{config.epochs}", refresh=False)
        first = (epoch - 1) * steps
        means = gan_epoch(
            gan, optimizers, schedulers, train_images, config, rng, runtime, average, first, progress
        )
        return dict(zip(GAN_TERMS, means.tolist(), strict=True))

    def snapshot_model() -> GAN:
        """The averaged generator, with its own batch statistics, beside the live discriminator."""
        if average is None:
            return gan
        result = build_gan(config)
        result.generator = averaged_generator(average, runtime, config.seed)
        result.discriminator = gan.discriminator
        return result

    model, history = run_epochs(session, train_epoch, snapshot_model, on_snapshot, training_log, resume)
    return model.eval(), history
