"""The GAN's training loop: returns the model and a per-epoch history (a list of dicts of
floats) and hands the model to ``on_snapshot`` every ``gan.snapshot_every`` epochs and at the
last."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F

from facegen import History
from facegen.augment import diff_augment, instance_noise
from facegen.checkpoints import SnapshotFn
from facegen.config import GANConfig, TrainConfig
from facegen.models import GAN
from facegen.resume import Resume
from facegen.runtime import Runtime, make_runtime, seed_everything
from facegen.train.average import WeightAverage
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
from facegen.train.schedules import lr_schedule, set_lr

log = logging.getLogger(__name__)

GAN_TERMS = ("d_loss", "d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake")
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
    ``joint`` pass over both, or in two ``separate`` passes."""
    augment = augment or (lambda x: x)
    if batch == "joint":
        logits = discriminator(augment(torch.cat([real, fake]))).float()
        return logits[: len(real)], logits[len(real) :]
    return discriminator(augment(real)).float(), discriminator(augment(fake)).float()


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
    """One discriminator step then one generator step, with the non-saturating loss.

    ``config.discriminator_batch``: ``joint`` passes real and generated faces through the
    discriminator as one batch (in both steps), so its batch norm, right after the first
    convolution, normalises them with the same statistics; in ``separate`` passes (the
    textbook DCGAN step) each batch is normalised by its own mean and scale, which hides any
    brightness or contrast a whole generated batch gets wrong. ``augment`` (DiffAugment) is
    applied to everything the discriminator sees; ``penalise`` adds the lazy R1 penalty.
    Returns the detached (d_loss, d_loss_real, d_loss_fake, g_loss, mean D(x), mean D(G(z)))."""
    discriminator = gan.discriminator
    autocast = autocast or contextlib.nullcontext()

    def discriminate(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return discriminator_logits(discriminator, real, fake, config.discriminator_batch, augment)

    # Discriminator: push D(x) to real_label (below 1: one-sided label smoothing) and D(G(z))
    # to 0; the fake is detached so no gradient reaches the generator.
    if penalise:
        real = real.detach().requires_grad_(True)
    with autocast:
        fake = gan.generate(z)  # (B, 1, 64, 64) in (0, 1)
        real_logits, fake_logits = discriminate(real, fake.detach())
    d_loss_real = F.binary_cross_entropy_with_logits(
        real_logits, torch.full_like(real_logits, config.real_label)
    )
    d_loss_fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    d_loss = d_loss_real + d_loss_fake
    d_objective = d_loss
    if penalise:  # R1 (Mescheder et al. 2018): gamma/2 E ||grad_x D(x)||^2 on real faces
        (gradient,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
        r1 = gradient.float().square().flatten(1).sum(1).mean()
        d_objective = d_loss + config.r1 / 2 * R1_INTERVAL * r1
    d_optimizer.zero_grad(set_to_none=True)
    d_objective.backward()
    d_optimizer.step()

    # Generator: push D(G(z)) to 1 through the updated discriminator. D's weights are frozen
    # for this pass: their gradients would be thrown away, and skipping them saves about a
    # third of the backward pass through D.
    discriminator.requires_grad_(False)
    with autocast:
        _, g_logits = discriminate(real.detach(), fake)
    g_loss = F.binary_cross_entropy_with_logits(g_logits, torch.ones_like(g_logits))
    g_optimizer.zero_grad(set_to_none=True)
    g_loss.backward()
    g_optimizer.step()
    discriminator.requires_grad_(True)

    d_real, d_fake = torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean()
    return torch.stack([d_loss, d_loss_real, d_loss_fake, g_loss, d_real, d_fake]).detach()


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
    images: torch.Tensor,
    config: GANConfig,
    generator: torch.Generator,
    runtime: Runtime,
    average: WeightAverage | None = None,
    desc: str = "gan",
    first_step: int = 0,
    learning_rates: Iterator[float] | None = None,
) -> torch.Tensor:
    """One pass over uint8 ``images``, each step's learning rate (both models) from
    ``learning_rates`` (None: as the optimizers have it); returns the means over batches of
    (d_loss, d_loss_real, d_loss_fake, g_loss, D(x), D(G(z))), float64 on the CPU."""
    gan.train()
    totals = torch.zeros(len(GAN_TERMS), dtype=torch.float64, device=runtime.device)
    order = batches(len(images), config.batch_size, generator)
    total_steps = config.epochs * len(order)
    for step, index in enumerate(progress(order, desc), start=first_step):
        augment = discriminator_view(config, generator, step, total_steps)
        real = augment_faces(runtime.batch(images[index]), config, generator)
        z = torch.randn(len(real), config.latent_dim, generator=generator).to(runtime.device)
        penalise = config.r1 > 0 and step % R1_INTERVAL == 0
        if learning_rates is not None:
            set_lr(optimizers, next(learning_rates))
        totals += gan_step(gan, *optimizers, real, z, config, runtime.autocast(), augment, penalise).double()
        if average is not None:
            average.update(gan.generator)
    return (totals / len(order)).cpu()


def averaged(gan: GAN, average: WeightAverage, runtime: Runtime, config: GANConfig) -> GAN:
    """The GAN to snapshot: the averaged generator, with its own batch statistics, beside the
    live discriminator."""
    result = GAN(config.latent_dim, config.architecture)
    result.generator = average.recalibrated(runtime, seed=config.seed)
    result.discriminator = gan.discriminator
    return result


def train_gan(
    train_images: torch.Tensor,
    config: GANConfig,
    on_snapshot: SnapshotFn,
    train: TrainConfig = TrainConfig(),
    resume: Resume | None = None,
) -> tuple[GAN, History]:
    """Train the GAN on uint8 (N, 1, 64, 64) images (see :func:`gan_step`). With ``ema`` the
    snapshots and the returned model carry the averaged generator. ``resume`` as for
    :func:`train_vae`."""
    check_batches(len(train_images), config.batch_size, "gan")
    generator_rng = seed_everything(config.seed)
    runtime = make_runtime(config.device, train)
    gan = runtime.place(GAN(config.latent_dim, config.architecture))
    g_optimizer = runtime.adam(gan.generator.parameters(), config.lr, config.betas)
    d_optimizer = runtime.adam(gan.discriminator.parameters(), config.lr, config.betas)
    average = WeightAverage(gan.generator, config.ema) if config.ema > 0 else None
    log.info("gan: %d train images on %s", len(train_images), runtime)
    history: History = []
    state = resume.load() if resume else None
    if state:
        gan.load_state_dict(state["model"])
        g_optimizer.load_state_dict(state["g_optimizer"])
        d_optimizer.load_state_dict(state["d_optimizer"])
        restore_random_states(generator_rng, state["random"])
        history = state["history"]
        if average is not None:
            average.average.load_state_dict(state["average"])
            average.updates = state["average_updates"]
    steps_per_epoch = len(train_images) // config.batch_size
    learning_rates = lr_schedule(config, steps_per_epoch, len(history) + 1)
    result = gan
    for epoch in epoch_bar(len(history) + 1, config.epochs, "gan"):
        started = time.perf_counter()
        desc = f"gan epoch {epoch}/{config.epochs}"
        optimizers = (g_optimizer, d_optimizer)
        means = gan_epoch(
            gan, optimizers, train_images, config, generator_rng, runtime, average, desc,
            first_step=(epoch - 1) * steps_per_epoch, learning_rates=learning_rates,
        ).tolist()  # fmt: skip
        row = {"epoch": epoch} | dict(zip(GAN_TERMS, means, strict=True))
        check_finite("gan", epoch, row)
        history.append(row)
        log.info(
            "gan epoch %3d/%d  d_loss %.3f (real %.3f, fake %.3f)  g_loss %.3f  D(x) %.3f  D(G(z)) %.3f  %.1fs",
            epoch, config.epochs, *means, time.perf_counter() - started,
        )  # fmt: skip
        if snapshot_due(epoch, config.epochs, config.snapshot_every):
            if average is not None:
                result = averaged(gan, average, runtime, config)
            on_snapshot(epoch, result)
            if resume:
                resume.save(epoch, {
                    "model": gan.state_dict(), "g_optimizer": g_optimizer.state_dict(),
                    "d_optimizer": d_optimizer.state_dict(), "random": random_states(generator_rng),
                    "history": history,
                    "average": average.average.state_dict() if average else None,
                    "average_updates": average.updates if average else 0,
                })  # fmt: skip
    if average is not None and result is gan:  # resumed after the last snapshot: rebuild it
        result = averaged(gan, average, runtime, config)
    return result.eval(), history
