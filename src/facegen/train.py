"""Training loops for the VAE and the GAN. Each returns a per-epoch history (a list of
dicts of floats) and hands a model snapshot to ``on_snapshot`` every ``snapshot_every``
epochs and at the last epoch."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from facegen import FacegenError
from facegen.config import GANConfig, TrainConfig, VAEConfig
from facegen.data import to_float
from facegen.io import save_torch
from facegen.models import GAN, VAE, checkpoint

log = logging.getLogger(__name__)

History = list[dict[str, float]]
SnapshotFn = Callable[[int, nn.Module], None]
M = TypeVar("M", bound=nn.Module)


def snapshot_writer(folder: str | os.PathLike, kind: str, config: VAEConfig | GANConfig) -> SnapshotFn:
    """A callback that saves ``folder/epoch_XXXX.pt`` checkpoints; empties ``folder`` first
    so no epoch of an earlier run is left behind."""
    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)

    def save(epoch: int, model: nn.Module) -> None:
        save_torch(folder / f"epoch_{epoch:04d}.pt", checkpoint(kind, model, epoch, asdict(config)))

    return save


def select_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present, then Apple MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FacegenError(f"device {name!r} was asked for but CUDA is not available; use 'auto' or 'cpu'.")
    return device


@dataclass(frozen=True)
class Runtime:
    """Where and how tensors are computed: device, bf16 autocast, memory format."""

    device: torch.device
    bf16: bool = False
    channels_last: bool = False

    def batch(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (B, 1, H, W) -> float32 in [0, 1] on the device, in the memory format."""
        x = to_float(images, self.device)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def place(self, model: M) -> M:
        model = model.to(self.device)
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def adam(self, params: Iterator[nn.Parameter], lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
        # fused: one kernel for all parameters instead of several per tensor
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=self.device.type in ("cpu", "cuda"))


def keep_freed_memory() -> bool:
    """Have glibc keep freed memory in the heap for reuse, instead of mapping every large
    block afresh and handing it back to the kernel when it is freed.

    A CPU training step frees and re-allocates the same activation buffers (up to 34 MB each
    at batch 64) every step. With glibc's defaults each of them is page-faulted in again,
    31 000 faults per VAE step and 90 000 per GAN step at batch 64; with this, none (see the
    README's performance section). No effect on any number computed. Returns whether it took:
    False where the C library has no ``mallopt`` (macOS, Windows) or refuses it (musl)."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    # <malloc.h>: M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3. 1 GiB is above any one
    # activation, and a fixed threshold also stops glibc's own dynamic adjustment.
    return bool(mallopt(-3, 1 << 30)) and bool(mallopt(-1, 1 << 30))


def make_runtime(device: str, train: TrainConfig) -> Runtime:
    """``train.precision: auto`` means bf16 on a CUDA GPU that supports it, fp32 elsewhere
    (on CPU bf16 is faster but rounds more: an opt-in)."""
    resolved = select_device(device)
    if resolved.type == "cpu":
        keep_freed_memory()
    bf16 = train.precision == "bf16" or (
        train.precision == "auto" and resolved.type == "cuda" and torch.cuda.is_bf16_supported()
    )
    return Runtime(resolved, bf16=bf16, channels_last=train.channels_last)


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch and switch on deterministic kernels; returns a CPU generator for shuffling
    and noise, so results do not depend on what else drew random numbers."""
    # cuBLAS needs this workspace setting to be deterministic; harmless on the CPU.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.manual_seed(seed)
    # warn_only: a few CUDA backward kernels (nearest upsampling) have no deterministic version.
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    return torch.Generator().manual_seed(seed)


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


def vae_loss(
    x: torch.Tensor, x_hat: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, kl_weight: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, recon_loss, kl_loss), each a mean over the batch of per-image sums:
    recon = ||x - x_hat||^2 over pixels, kl = KL[N(mu, sigma^2) || N(0, I)]."""
    x_hat, mu, logvar = x_hat.float(), mu.float(), logvar.float()  # sums in fp32 under autocast
    recon_loss = (x_hat - x).pow(2).flatten(1).sum(1).mean()
    kl_loss = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
    return recon_loss + kl_weight * kl_loss, recon_loss, kl_loss


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
        mu, logvar = model.encode(x)
        x_hat = model.decoder(model.reparameterize(mu, logvar, noise))
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
        fake = gan(z)  # sigmoid(generator(z)), (B, 1, 64, 64)
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
    totals = torch.zeros(6, dtype=torch.float64, device=runtime.device)
    order = batches(len(images), config.batch_size, generator)
    for index in _progress(order, desc):
        real = runtime.batch(images[index])
        z = torch.randn(len(real), config.latent_dim, generator=generator).to(runtime.device)
        totals += gan_step(gan, *optimizers, real, z, config.real_label, runtime.autocast()).double()
    return (totals / len(order)).cpu()


@torch.no_grad()
def evaluate_vae(
    model: VAE, images: torch.Tensor, kl_weight: float, batch_size: int, runtime: Runtime, seed: int
) -> dict[str, float]:
    """Mean loss terms over all of ``images`` in eval mode, with seeded latent noise so the
    estimate is the same every epoch for the same weights."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    totals = torch.zeros(3, dtype=torch.float64)
    for start in range(0, len(images), batch_size):
        x = runtime.batch(images[start : start + batch_size])
        noise = torch.randn(len(x), model.latent_dim, generator=generator).to(runtime.device)
        with runtime.autocast():
            mu, logvar = model.encode(x)
            x_hat = model.decoder(model.reparameterize(mu, logvar, noise))
            terms = vae_loss(x, x_hat, mu, logvar, kl_weight)
        totals += torch.stack(terms).double().cpu() * len(x)
    loss, recon_loss, kl_loss = (totals / len(images)).tolist()
    return {"loss": loss, "recon_loss": recon_loss, "kl_loss": kl_loss}


def train_vae(
    train_images: torch.Tensor,
    val_images: torch.Tensor,
    config: VAEConfig,
    snapshot_every: int,
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
        val = evaluate_vae(model, val_images, config.kl_weight, config.batch_size, runtime, config.seed)
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
        if epoch % snapshot_every == 0 or epoch == config.epochs:
            on_snapshot(epoch, model)
    return model.eval(), history


def train_gan(
    train_images: torch.Tensor,
    config: GANConfig,
    snapshot_every: int,
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
        row = {"epoch": epoch} | dict(
            zip(("d_loss", "d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake"), means, strict=True)
        )
        _check_finite("gan", epoch, row)
        history.append(row)
        log.info(
            "gan epoch %3d/%d  d_loss %.3f (real %.3f, fake %.3f)  g_loss %.3f  D(x) %.3f  D(G(z)) %.3f  %.1fs",
            epoch, config.epochs, *means, time.perf_counter() - started,
        )  # fmt: skip
        if epoch % snapshot_every == 0 or epoch == config.epochs:
            on_snapshot(epoch, gan)
    return gan.eval(), history
