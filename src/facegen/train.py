"""Training loops for the VAE and the GAN. Each returns the model and a per-epoch history
(a list of dicts of floats) and hands the model to ``on_snapshot`` every
``snapshot_every`` epochs of the model's section and at the last epoch."""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from facegen import FacegenError, History
from facegen.augment import diff_augment, hflip, instance_noise, shift
from facegen.checkpoints import SnapshotFn
from facegen.config import GANConfig, ModelTrainingConfig, TrainConfig, VAEConfig
from facegen.losses import heldout_vae_loss, vae_loss
from facegen.models import GAN, VAE, Decoder
from facegen.resume import Resume
from facegen.runtime import Runtime, make_runtime, seed_everything

log = logging.getLogger(__name__)

GAN_TERMS = ("d_loss", "d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake")
R1_INTERVAL = 4  # lazy R1 (Karras et al. 2020): penalise every 4th step, 4x as strongly
Augment = Callable[[torch.Tensor], torch.Tensor]


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


def _epochs(first: int, last: int, desc: str) -> Iterator[int]:
    """Epochs ``first``..``last`` with a bar and the time left on a terminal (the per-epoch
    log lines print above it); nothing extra in logs and CI."""
    return tqdm(
        range(first, last + 1), desc=desc, unit="epoch", initial=first - 1, total=last,
        dynamic_ncols=True, disable=None,
    )  # fmt: skip


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


class WeightAverage:
    """An exponential moving average of a generator's weights (Karras et al. 2018), whose
    batch-norm statistics are recomputed for the averaged weights before it is used: the
    live generator's running statistics belong to other weights."""

    def __init__(self, generator: Decoder, decay: float) -> None:
        self.average = copy.deepcopy(generator).requires_grad_(False)
        self.decay = decay
        self.updates = 0

    @torch.no_grad()
    def update(self, generator: Decoder) -> None:
        # The decay ramps up, (1 + t) / (10 + t), so that early on the average is not
        # dominated by the random initial weights (as TensorFlow's moving averages do).
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        averaged = list(self.average.parameters())
        torch._foreach_lerp_(averaged, list(generator.parameters()), 1 - decay)

    @torch.no_grad()
    def recalibrated(
        self, runtime: Runtime, batches: int = 16, batch_size: int = 64, seed: int = 0
    ) -> Decoder:
        """The averaged generator with batch-norm statistics averaged over ``batches`` fixed
        batches of codes, in eval mode."""
        model = self.average
        norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # a plain average over the batches below
        model.train()
        generator = torch.Generator().manual_seed(seed)
        for _ in range(batches):
            z = torch.randn(batch_size, model.fc.in_features, generator=generator)
            model(z.to(runtime.device))
        for norm in norms:
            norm.momentum = 0.1
        return model.eval()


def augment_faces(x: torch.Tensor, config: ModelTrainingConfig, generator: torch.Generator) -> torch.Tensor:
    """A training batch (B, 1, 64, 64) as the model sees it: mirrored (``hflip``), then moved
    (``shift``), each drawn from ``generator``."""
    if config.hflip:
        x = hflip(x, generator)
    return shift(x, generator, config.shift) if config.shift else x


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
    for index in _progress(order, desc):
        x = augment_faces(runtime.batch(images[index]), config, generator)  # uint8 in memory, float per batch
        noise = torch.randn(len(x), config.latent_dim, generator=generator).to(runtime.device)
        if learning_rates is not None:
            set_lr([optimizer], next(learning_rates))
        step = vae_step(model, optimizer, x, noise, next(kl_weights), runtime.autocast(), config.decoder)
        totals += step.double()
    return (totals / len(order)).cpu()


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
    for step, index in enumerate(_progress(order, desc), start=first_step):
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


def _snapshot_due(epoch: int, epochs: int, every: int) -> bool:
    return epoch % every == 0 or epoch == epochs


def kl_schedule(config: VAEConfig, steps_per_epoch: int, first_epoch: int = 1) -> Iterator[float]:
    """The KL weight of every step from ``first_epoch`` on: rising linearly from 0 over
    ``kl_warmup`` epochs, then ``kl_weight``."""
    warmup = config.kl_warmup * steps_per_epoch
    step = (first_epoch - 1) * steps_per_epoch
    while True:
        step += 1
        yield config.kl_weight * min(1.0, step / warmup) if warmup else config.kl_weight


def lr_schedule(config: ModelTrainingConfig, steps_per_epoch: int, first_epoch: int = 1) -> Iterator[float]:
    """The learning rate of every step from ``first_epoch`` on: ``config.lr`` throughout, or
    for ``cosine`` half a cosine from ``config.lr`` at the first step towards 0 after the last."""
    total = config.epochs * steps_per_epoch
    step = (first_epoch - 1) * steps_per_epoch
    while True:
        fraction = step / total if config.lr_schedule == "cosine" else 0.0
        yield config.lr * 0.5 * (1 + math.cos(math.pi * min(fraction, 1.0)))
        step += 1


def set_lr(optimizers: Iterable[torch.optim.Optimizer], lr: float) -> None:
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            group["lr"] = lr


def random_states(generator: torch.Generator) -> dict[str, Any]:
    """Every random generator training draws from, to resume bit for bit."""
    states = {"generator": generator.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_random_states(generator: torch.Generator, states: dict[str, Any]) -> None:
    generator.set_state(states["generator"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


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
    With ``prior: fitted`` every snapshot carries the Gaussian fitted to the training faces'
    codes at that epoch. With ``resume``, carry on from its saved state if it has one, and
    save the state at every snapshot."""
    _check_batches(len(train_images), config.batch_size, "vae")
    generator = seed_everything(config.seed)
    runtime = make_runtime(config.device, train)
    model = runtime.place(VAE(config.latent_dim))
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
    for epoch in _epochs(first_epoch, config.epochs, "vae"):
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
        _check_finite("vae", epoch, row)
        history.append(row)
        log.info(
            "vae epoch %3d/%d  loss %.2f (recon %.2f, kl %.2f)  val loss %.2f (recon %.2f, kl %.2f)  %.1fs",
            epoch, config.epochs, *losses, val["loss"], val["recon_loss"], val["kl_loss"],
            time.perf_counter() - started,
        )  # fmt: skip
        if _snapshot_due(epoch, config.epochs, config.snapshot_every):
            if config.prior == "fitted":
                model.fit_prior(posterior_means(model, train_images, runtime))
            on_snapshot(epoch, model)
            if resume:
                resume.save(epoch, {
                    "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "random": random_states(generator), "history": history,
                })  # fmt: skip
    return model.eval(), history


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
    _check_batches(len(train_images), config.batch_size, "gan")
    generator_rng = seed_everything(config.seed)
    runtime = make_runtime(config.device, train)
    gan = runtime.place(GAN(config.latent_dim))
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
    for epoch in _epochs(len(history) + 1, config.epochs, "gan"):
        started = time.perf_counter()
        desc = f"gan epoch {epoch}/{config.epochs}"
        optimizers = (g_optimizer, d_optimizer)
        means = gan_epoch(
            gan, optimizers, train_images, config, generator_rng, runtime, average, desc,
            first_step=(epoch - 1) * steps_per_epoch, learning_rates=learning_rates,
        ).tolist()  # fmt: skip
        row = {"epoch": epoch} | dict(zip(GAN_TERMS, means, strict=True))
        _check_finite("gan", epoch, row)
        history.append(row)
        log.info(
            "gan epoch %3d/%d  d_loss %.3f (real %.3f, fake %.3f)  g_loss %.3f  D(x) %.3f  D(G(z)) %.3f  %.1fs",
            epoch, config.epochs, *means, time.perf_counter() - started,
        )  # fmt: skip
        if _snapshot_due(epoch, config.epochs, config.snapshot_every):
            if average is not None:
                result = GAN(config.latent_dim)
                result.generator = average.recalibrated(runtime, seed=config.seed)
                result.discriminator = gan.discriminator
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
        result = GAN(config.latent_dim)
        result.generator = average.recalibrated(runtime, seed=config.seed)
        result.discriminator = gan.discriminator
    return result.eval(), history
