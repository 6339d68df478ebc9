"""The GAN's training loop: a discriminator step then a generator step per batch, with the
non-saturating loss, and the generator's weight average for what is shown and saved."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.optim.lr_scheduler import LRScheduler
from torch.optim.swa_utils import AveragedModel

from facegen import History
from facegen.config import GANConfig, TrainConfig
from facegen.models import GAN
from facegen.runtime import Runtime, make_runtime, seed_everything
from facegen.train.augment import augment_faces, diff_augment, instance_noise
from facegen.train.average import averaged_generator, weight_average
from facegen.train.log import TrainingLog
from facegen.train.loop import Session, SnapshotFn, batches, check_batches, progress, run_epochs
from facegen.train.resume import Resume
from facegen.train.schedules import lr_scheduler

log = logging.getLogger(__name__)

# What an epoch's row holds (d_loss is their sum: d_loss_real + d_loss_fake).
GAN_TERMS = ("d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake")
R1_INTERVAL = 4  # lazy R1 (Karras et al. 2020): penalise every 4th step, 4x as strongly
Augment = Callable[[torch.Tensor], torch.Tensor]


def discriminator_logits(
    discriminator: torch.nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    batch: str = "joint",
    augment: Augment | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """D's logits for real (B, 1, 64, 64) and fake faces, as float32 (B, 1) each: in one
    ``joint`` pass over both, so D's batch norm normalises both alike, or in two
    ``separate`` passes (the textbook DCGAN step: each batch by its own statistics, which
    hides any brightness or contrast a whole generated batch gets wrong)."""
    augment = augment or (lambda x: x)
    if batch == "joint":
        logits = discriminator(augment(torch.cat([real, fake]))).float()
        return logits[: len(real)], logits[len(real) :]
    return discriminator(augment(real)).float(), discriminator(augment(fake)).float()


def discriminator_step(
    gan: GAN, optimizer: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor, config: GANConfig,
    autocast: contextlib.AbstractContextManager, augment: Augment | None, penalise: bool,
) -> tuple[torch.Tensor, ...]:  # fmt: skip
    """Push D(x) to ``real_label`` (below 1: one-sided label smoothing) and D(G(z)) to 0;
    ``fake`` comes detached, so no gradient reaches the generator. ``penalise`` adds the lazy
    R1 penalty. Returns (d_loss_real, d_loss_fake, real_logits, fake_logits)."""
    if penalise:
        real = real.detach().requires_grad_(True)
    with autocast:
        real_logits, fake_logits = discriminator_logits(
            gan.discriminator, real, fake, config.discriminator_batch, augment
        )
    d_loss_real = F.binary_cross_entropy_with_logits(
        real_logits, torch.full_like(real_logits, config.real_label)
    )
    d_loss_fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    objective = d_loss_real + d_loss_fake
    if penalise:  # R1 (Mescheder et al. 2018): gamma/2 E ||grad_x D(x)||^2 on real faces
        (gradient,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
        objective = (
            objective + config.r1 / 2 * R1_INTERVAL * gradient.float().square().flatten(1).sum(1).mean()
        )
    optimizer.zero_grad(set_to_none=True)
    objective.backward()
    optimizer.step()
    return d_loss_real, d_loss_fake, real_logits, fake_logits


def generator_step(
    gan: GAN, optimizer: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor, config: GANConfig,
    autocast: contextlib.AbstractContextManager, augment: Augment | None,
) -> torch.Tensor:  # fmt: skip
    """Push D(G(z)) to 1 through the updated discriminator. D's weights are frozen for this
    pass: their gradients would be thrown away, and skipping them saves about a third of the
    backward pass through D. Returns g_loss."""
    gan.discriminator.requires_grad_(False)
    with autocast:
        _, logits = discriminator_logits(
            gan.discriminator, real.detach(), fake, config.discriminator_batch, augment
        )
    g_loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
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
) -> torch.Tensor:
    """One discriminator step then one generator step on real faces (B, 1, 64, 64) and codes
    z (B, latent_dim). ``augment`` (DiffAugment, instance noise) is applied to everything
    the discriminator sees. Returns the detached (d_loss_real, d_loss_fake, g_loss, mean
    D(x), mean D(G(z)))."""
    autocast = autocast or contextlib.nullcontext()
    with autocast:
        fake = gan.generate(z)  # (B, 1, 64, 64) in (0, 1)
    d_loss_real, d_loss_fake, real_logits, fake_logits = discriminator_step(
        gan, d_optimizer, real, fake.detach(), config, autocast, augment, penalise
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
            x = diff_augment(x, generator)
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
        totals += gan_step(gan, *optimizers, real, z, config, runtime.autocast(), augment, penalise).double()
        for scheduler in schedulers:
            scheduler.step()
        if average is not None:
            average.update_parameters(gan.generator)
    return (totals / len(order)).cpu()


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
    gan = runtime.place(GAN(config.latent_dim, config.architecture))
    optimizers = tuple(
        runtime.adam(m.parameters(), config.lr, config.betas) for m in (gan.generator, gan.discriminator)
    )
    steps = len(train_images) // config.batch_size
    schedulers = tuple(lr_scheduler(optimizer, config, steps) for optimizer in optimizers)
    average = weight_average(gan.generator, config.ema) if config.ema > 0 else None
    parts = {"model": gan, "g_optimizer": optimizers[0], "d_optimizer": optimizers[1]}
    parts |= {"g_scheduler": schedulers[0], "d_scheduler": schedulers[1]} | (
        {"average": average} if average else {}
    )
    session = Session("gan", config, parts, generator)
    log.info("gan: %d train images on %s", len(train_images), runtime)

    def train_epoch(epoch: int) -> dict[str, float]:
        desc, first = f"gan epoch {epoch}/{config.epochs}", (epoch - 1) * steps
        means = gan_epoch(
            gan, optimizers, schedulers, train_images, config, generator, runtime, average, first, desc
        )
        return dict(zip(GAN_TERMS, means.tolist(), strict=True))

    def snapshot_model() -> GAN:
        """The averaged generator, with its own batch statistics, beside the live discriminator."""
        if average is None:
            return gan
        result = GAN(config.latent_dim, config.architecture)
        result.generator = averaged_generator(average, runtime, config.seed)
        result.discriminator = gan.discriminator
        return result

    model, history = run_epochs(session, train_epoch, snapshot_model, on_snapshot, training_log, resume)
    return model.eval(), history
