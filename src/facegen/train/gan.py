"""The GAN's training loop: a discriminator step then a generator step per batch, with the
non-saturating loss, and the generator's weight average for what is shown and saved."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch.optim.lr_scheduler import LRScheduler
from torch.optim.swa_utils import AveragedModel

from facegen import History
from facegen.config import GANConfig, TrainConfig
from facegen.models import GAN
from facegen.runtime import Runtime, make_runtime, seed_everything
from facegen.train.augment import augment_faces, diff_augment, instance_noise
from facegen.train.average import averaged_generator, weight_average
from facegen.train.gan_losses import LeCam, discriminator_losses, generator_loss, reconstruction_loss
from facegen.train.log import TrainingLog
from facegen.train.loop import Session, SnapshotFn, batches, check_batches, progress, run_epochs
from facegen.train.resume import Resume
from facegen.train.schedules import lr_scheduler

log = logging.getLogger(__name__)

# What an epoch's row holds (d_loss is their sum: d_loss_real + d_loss_fake).
GAN_TERMS = ("d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake")
R1_INTERVAL = 4  # lazy R1 (Karras et al. 2020): penalise every 4th step, 4x as strongly
# the reconstruction head lazily too, every 2nd step twice as strongly: as good a GAN, its
# stage 344 s against 360-381 s (docs/choosing-defaults.md, ninth round)
HEAD_INTERVAL = 2
Augment = Callable[[torch.Tensor], torch.Tensor]


class DiscriminatorPass(NamedTuple):
    real_logits: torch.Tensor  # float32 (B, 1)
    fake_logits: torch.Tensor  # float32 (B, 1)
    seen_real: torch.Tensor  # the real faces as D saw them (augmented), (B, 1, 64, 64)
    real_features: torch.Tensor | None  # D's (B, C, 8, 8) features of them, where asked


def discriminator_logits(
    discriminator: torch.nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    batch: str = "joint",
    augment: Augment | None = None,
    features: bool = False,
) -> DiscriminatorPass:
    """D's logits for real (B, 1, 64, 64) and fake faces: in one ``joint`` pass over both, so
    D's batch norm normalises both alike, or in two ``separate`` passes (the textbook DCGAN
    step: each batch by its own statistics, which hides any brightness or contrast a whole
    generated batch gets wrong). ``features``: also D's features of the real faces."""
    augment = augment or (lambda x: x)
    run = discriminator.logits_and_features if features else lambda x: (discriminator(x), None)
    if batch == "joint":
        seen = augment(torch.cat([real, fake]))
        logits, seen_features = run(seen)
        n = len(real)
        real_features = seen_features[:n] if features else None
        return DiscriminatorPass(logits[:n].float(), logits[n:].float(), seen[:n], real_features)
    seen_real = augment(real)
    real_logits, real_features = run(seen_real)
    return DiscriminatorPass(
        real_logits.float(), discriminator(augment(fake)).float(), seen_real, real_features
    )


def discriminator_step(
    gan: GAN, optimizer: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor, config: GANConfig,
    autocast: contextlib.AbstractContextManager, augment: Augment | None, penalise: bool,
    lecam: LeCam | None = None, reconstruct: bool = True,
) -> tuple[torch.Tensor, ...]:  # fmt: skip
    """Push D(x) up and D(G(z)) down by ``config.loss``; ``fake`` comes detached, so no
    gradient reaches the generator. ``penalise`` adds the lazy R1 penalty; ``lecam`` and,
    where ``reconstruct``, the reconstruction head (``config.recon_head``) add theirs.
    Returns (d_loss_real, d_loss_fake, real_logits, fake_logits)."""
    if penalise:
        real = real.detach().requires_grad_(True)
    head = config.recon_head > 0 and reconstruct
    with autocast:
        seen = discriminator_logits(
            gan.discriminator, real, fake, config.discriminator_batch, augment, features=head
        )
        recon = (
            reconstruction_loss(gan.discriminator.decoder, seen.real_features, seen.seen_real) if head else 0
        )
    d_loss_real, d_loss_fake = discriminator_losses(
        seen.real_logits, seen.fake_logits, config.loss, config.real_label
    )
    objective = d_loss_real + d_loss_fake + config.recon_head * HEAD_INTERVAL * recon
    if lecam is not None:
        objective = objective + config.lecam * lecam.penalty(seen.real_logits, seen.fake_logits)
    if penalise:  # R1 (Mescheder et al. 2018): gamma/2 E ||grad_x D(x)||^2 on real faces
        (gradient,) = torch.autograd.grad(seen.real_logits.sum(), real, create_graph=True)
        objective = (
            objective + config.r1 / 2 * R1_INTERVAL * gradient.float().square().flatten(1).sum(1).mean()
        )
    optimizer.zero_grad(set_to_none=True)
    objective.backward()
    optimizer.step()
    return d_loss_real, d_loss_fake, seen.real_logits, seen.fake_logits


def generator_step(
    gan: GAN, optimizer: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor, config: GANConfig,
    autocast: contextlib.AbstractContextManager, augment: Augment | None,
) -> torch.Tensor:  # fmt: skip
    """Push D(G(z)) up through the updated discriminator. D's weights are frozen for this
    pass: their gradients would be thrown away, and skipping them saves about a third of the
    backward pass through D. Returns g_loss."""
    gan.discriminator.requires_grad_(False)
    with autocast:
        seen = discriminator_logits(
            gan.discriminator, real.detach(), fake, config.discriminator_batch, augment
        )
    g_loss = generator_loss(seen.fake_logits, config.loss)
    optimizer.zero_grad(set_to_none=True)
    g_loss.backward()
    optimizer.step()
    gan.discriminator.requires_grad_(True)
    return g_loss


def gan_step(
    gan: GAN,
    g_optimizer: torch.optim.Optimizer,
    d_optimizer: torch.optim.Optimizer,
    real: torch.Tensor,
    z: torch.Tensor,
    config: GANConfig,
    autocast: contextlib.AbstractContextManager | None = None,
    augment: Augment | None = None,
    penalise: bool = False,
    lecam: LeCam | None = None,
    reconstruct: bool = True,
) -> torch.Tensor:
    """One discriminator step then one generator step on real faces (B, 1, 64, 64) and codes
    z (B, latent_dim). ``augment`` (DiffAugment, instance noise) is applied to everything
    the discriminator sees. Returns the detached (d_loss_real, d_loss_fake, g_loss, mean
    D(x), mean D(G(z)))."""
    autocast = autocast or contextlib.nullcontext()
    with autocast:
        fake = gan.generate(z)  # (B, 1, 64, 64) in (0, 1)
    d_loss_real, d_loss_fake, real_logits, fake_logits = discriminator_step(
        gan, d_optimizer, real, fake.detach(), config, autocast, augment, penalise, lecam, reconstruct
    )
    g_loss = generator_step(gan, g_optimizer, real, fake, config, autocast, augment)
    d_real, d_fake = torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean()
    return torch.stack([d_loss_real, d_loss_fake, g_loss, d_real, d_fake]).detach()


def discriminator_view(
    config: GANConfig, generator: torch.Generator, step: int, total_steps: int
) -> Augment | None:
    """What the discriminator sees at training step ``step`` (from 0) of ``total_steps``:
    DiffAugment if on, then instance noise whose standard deviation falls linearly from
    ``config.instance_noise`` to 0 (the faces themselves by the end); None: the faces as they are."""
    std = config.instance_noise * (1 - step / total_steps)
    if not config.diffaugment and std <= 0:
        return None

    def view(x: torch.Tensor) -> torch.Tensor:
        if config.diffaugment:
            x = diff_augment(x, generator, config.diffaugment_color)
        return instance_noise(x, std, generator) if std > 0 else x

    return view


def gan_epoch(
    gan: GAN,
    optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
    schedulers: tuple[LRScheduler, LRScheduler],
    images: torch.Tensor,
    config: GANConfig,
    generator: torch.Generator,
    runtime: Runtime,
    average: AveragedModel | None = None,
    first_step: int = 0,
    desc: str = "gan",
    lecam: LeCam | None = None,
) -> torch.Tensor:
    """One pass over uint8 ``images``, both learning rates stepped by ``schedulers``; returns
    the means over batches of (d_loss_real, d_loss_fake, g_loss, D(x), D(G(z))), float64 on
    the CPU."""
    gan.train()
    totals = torch.zeros(len(GAN_TERMS), dtype=torch.float64, device=runtime.device)
    order = batches(len(images), config.batch_size, generator)
    total_steps = config.epochs * len(order)
    for step, index in enumerate(progress(order, desc), start=first_step):
        augment = discriminator_view(config, generator, step, total_steps)
        real = augment_faces(runtime.batch(images[index]), config, generator)
        z = torch.randn(len(real), config.latent_dim, generator=generator).to(runtime.device)
        penalise = config.r1 > 0 and step % R1_INTERVAL == 0
        reconstruct = step % HEAD_INTERVAL == 0
        totals += gan_step(
            gan, *optimizers, real, z, config, runtime.autocast(), augment, penalise, lecam, reconstruct
        ).double()
        for scheduler in schedulers:
            scheduler.step()
        if average is not None:
            average.update_parameters(gan.generator)
    return (totals / len(order)).cpu()


def model_args(config: GANConfig) -> dict[str, int | str | bool]:
    """The GAN ``config`` describes: ``GAN(**model_args(config))``."""
    return {
        "latent_dim": config.latent_dim,
        "architecture": config.architecture,
        "spectral_norm": config.spectral_norm,
        "recon_head": config.recon_head > 0,
    }


def train_gan(
    train_images: torch.Tensor,
    config: GANConfig,
    on_snapshot: SnapshotFn,
    train: TrainConfig = TrainConfig(),
    resume: Resume | None = None,
    training_log: TrainingLog | None = None,
) -> tuple[GAN, History]:
    """Train the GAN on uint8 (N, 1, 64, 64) images (see :func:`gan_step`). With ``ema`` the
    snapshots and the returned model carry the averaged generator. Returns the model and
    every epoch's row; ``resume`` as for :func:`~facegen.train.vae.train_vae`."""
    check_batches(len(train_images), config.batch_size, "gan")
    generator = seed_everything(config.seed)
    runtime = make_runtime(config.device, train)
    gan = runtime.place(GAN(**model_args(config)))
    lecam = LeCam().to(runtime.device) if config.lecam > 0 else None
    optimizers = tuple(
        runtime.adam(m.parameters(), config.lr, config.betas) for m in (gan.generator, gan.discriminator)
    )
    steps = len(train_images) // config.batch_size
    schedulers = tuple(lr_scheduler(optimizer, config, steps) for optimizer in optimizers)
    average = weight_average(gan.generator, config.ema) if config.ema > 0 else None
    parts = {"model": gan, "g_optimizer": optimizers[0], "d_optimizer": optimizers[1]}
    parts |= (
        {"g_scheduler": schedulers[0], "d_scheduler": schedulers[1]}
        | ({"average": average} if average else {})
        | ({"lecam": lecam} if lecam else {})
    )
    session = Session("gan", config, parts, generator)
    log.info("gan: %d train images on %s", len(train_images), runtime)

    def train_epoch(epoch: int) -> dict[str, float]:
        desc, first = f"gan epoch {epoch}/{config.epochs}", (epoch - 1) * steps
        means = gan_epoch(
            gan, optimizers, schedulers, train_images, config, generator, runtime, average, first, desc, lecam
        )
        return dict(zip(GAN_TERMS, means.tolist(), strict=True))

    def snapshot_model() -> GAN:
        """The averaged generator, with its own batch statistics, beside the live discriminator."""
        if average is None:
            return gan
        result = GAN(**model_args(config))
        result.generator = averaged_generator(average, runtime, config.seed)
        result.discriminator = gan.discriminator
        return result

    model, history = run_epochs(session, train_epoch, snapshot_model, on_snapshot, training_log, resume)
    return model.eval(), history
