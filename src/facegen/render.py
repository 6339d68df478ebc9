"""Pictures of what the models learned: latent interpolation walks, fixed-z samples,
reconstructions, animated walks and loss curves. Pure functions from models and tensors
to uint8 images and encoded bytes; the render stage writes them."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence

import matplotlib

matplotlib.use("Agg")  # no display needed; must precede pyplot
import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image

from facegen import History
from facegen.checkpoints import ModelDir, load_checkpoint
from facegen.config import RenderConfig
from facegen.data import to_float
from facegen.models import GAN, VAE
from facegen.runtime import CPU

PAD = 2  # pixels of white between tiles

# Panels of the loss-curve figures: panel title -> history columns.
VAE_PANELS = {
    "loss (recon + kl_weight * KL)": ("train_loss", "val_loss"),
    "reconstruction: sum of squared errors": ("train_recon_loss", "val_recon_loss"),
    "KL divergence": ("train_kl_loss", "val_kl_loss"),
}
GAN_PANELS = {
    "losses": ("d_loss", "d_loss_real", "d_loss_fake", "g_loss"),
    "discriminator outputs": ("d_real", "d_fake"),
}


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Straight line: a (D,), b (D,), t (S,) -> (S, D)."""
    return a + t[:, None] * (b - a)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Great-circle path (White 2016), which keeps Gaussian codes at a typical norm;
    falls back to lerp for (anti)parallel endpoints."""
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega.abs() < 1e-4 or (math.pi - omega).abs() < 1e-4:
        return lerp(a, b, t)
    sin = torch.sin(omega)
    return (torch.sin((1 - t) * omega)[:, None] * a + torch.sin(t * omega)[:, None] * b) / sin


def walks(starts: torch.Tensor, ends: torch.Tensor, steps: int, mode: str) -> torch.Tensor:
    """(R, D) starts and ends -> (R * steps, D) codes, row by row."""
    t = torch.linspace(0.0, 1.0, steps)
    path = slerp if mode == "slerp" else lerp
    return torch.cat([path(a, b, t) for a, b in zip(starts, ends, strict=True)])


def fixed_latents(n: int, latent_dim: int, seed: int) -> torch.Tensor:
    """The same (n, latent_dim) normal codes for every epoch and both models."""
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))


def chosen_faces(n_available: int, n: int, seed: int) -> torch.Tensor:
    """``n`` fixed validation indices (repeating if there are fewer faces than ``n``)."""
    order = torch.randperm(n_available, generator=torch.Generator().manual_seed(seed))
    return order[torch.arange(n) % n_available]


def grid(images: torch.Tensor, columns: int) -> np.ndarray:
    """(N, 1, H, W) floats in [0, 1] (clipped) -> one uint8 (rows, columns) tiled image."""
    n, _, height, width = images.shape
    rows = math.ceil(n / columns)
    canvas = np.full((rows * (height + PAD) + PAD, columns * (width + PAD) + PAD), 255, np.uint8)
    tiles = (images.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    for i, tile in enumerate(tiles[:, 0]):
        top, left = PAD + (i // columns) * (height + PAD), PAD + (i % columns) * (width + PAD)
        canvas[top : top + height, left : left + width] = tile
    return canvas


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def gif_bytes(frames: Sequence[np.ndarray], fps: int) -> bytes:
    """An endlessly looping GIF of gray uint8 frames."""
    images = [Image.fromarray(f) for f in frames]
    buffer = io.BytesIO()
    images[0].save(
        buffer, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0
    )
    return buffer.getvalue()


def walk_frames(walk_images: torch.Tensor, rows: int, steps: int) -> list[np.ndarray]:
    """Frames of an animation: frame t shows step t of every walk side by side; it plays
    forward then back so the loop has no jump."""
    per_step = walk_images.view(rows, steps, *walk_images.shape[1:]).transpose(0, 1)
    frames = [grid(per_step[t], columns=rows) for t in range(steps)]
    return frames + frames[-2:0:-1]


@torch.no_grad()
def vae_pictures(
    model: VAE, val_images: torch.Tensor, z: torch.Tensor, config: RenderConfig
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(walk images (rows*steps, 1, H, W), samples (n, 1, H, W), reconstructions
    (4*rows, 1, H, W): a row of originals over a row of their reconstructions, twice)."""
    device = next(model.parameters()).device
    faces = to_float(val_images[chosen_faces(len(val_images), 2 * config.rows, config.seed)], device)
    mu, _ = model.encode(faces)  # walk between the posterior means of two real faces
    walk = model.decoder(walks(mu[0::2].cpu(), mu[1::2].cpu(), config.steps, config.mode).to(device))
    samples = model.generate(z.to(device))
    recon = model.decoder(mu)
    # Rows of ``config.rows`` faces: originals, their reconstructions, originals, ...
    columns = config.rows
    pairs = [torch.cat([faces[i : i + columns], recon[i : i + columns]]) for i in (0, columns)]
    return walk, samples, torch.cat(pairs)


@torch.no_grad()
def gan_pictures(model: GAN, z: torch.Tensor, config: RenderConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(walk images between fixed random codes, samples from the fixed z batch)."""
    device = next(model.parameters()).device
    ends = fixed_latents(2 * config.rows, model.latent_dim, config.seed + 1)
    walk = model.generate(walks(ends[0::2], ends[1::2], config.steps, config.mode).to(device))
    return walk, model.generate(z.to(device))


def render_snapshots(
    vae_dir: ModelDir, gan_dir: ModelDir, val_images: torch.Tensor, config: RenderConfig
) -> Iterator[tuple[str, bytes]]:
    """Every picture of every snapshot, as (path relative to the plots folder, file bytes)."""
    columns = math.ceil(math.sqrt(config.samples))
    last: dict[str, torch.Tensor] = {}
    for kind, model_dir in (("vae", vae_dir), ("gan", gan_dir)):
        for epoch, path in model_dir.snapshots():
            model = CPU.place(load_checkpoint(path))
            z = fixed_latents(config.samples, model.latent_dim, config.seed)
            if kind == "vae":
                walk, samples, recon = vae_pictures(model, val_images, z, config)
                yield f"vae/vae_reconstruction_E{epoch}.png", png_bytes(grid(recon, config.rows))
            else:
                walk, samples = gan_pictures(model, z, config)
            yield f"{kind}/{kind}_interpolation_ck_E{epoch}.png", png_bytes(grid(walk, config.steps))
            yield f"{kind}/{kind}_samples_E{epoch}.png", png_bytes(grid(samples, columns))
            last[kind] = walk
        if kind in last:
            frames = walk_frames(last[kind], config.rows, config.steps)
            yield f"{kind}/{kind}_interpolation.gif", gif_bytes(frames, config.fps)


def render_all(
    vae_dir: ModelDir, gan_dir: ModelDir, val_images: torch.Tensor, config: RenderConfig
) -> Iterator[tuple[str, bytes]]:
    """Everything the render stage writes, as (path relative to the plots folder, bytes):
    the pictures of every snapshot, then each model's loss curves."""
    yield from render_snapshots(vae_dir, gan_dir, val_images, config)
    for kind, model_dir, panels in (("vae", vae_dir, VAE_PANELS), ("gan", gan_dir, GAN_PANELS)):
        history = model_dir.history()
        yield f"{kind}/losses.png", loss_curves_png(history, panels, f"{kind.upper()} training")


def loss_curves_png(history: History, panels: dict[str, Sequence[str]], title: str) -> bytes:
    """One panel per entry of ``panels`` (panel title -> history columns), epoch on x."""
    epochs = [row["epoch"] for row in history]
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    for ax, (panel, columns) in zip(axes[0], panels.items(), strict=True):
        for column in columns:
            ax.plot(
                epochs,
                [row[column] for row in history],
                label=column,
                marker="." if len(epochs) < 30 else None,
            )
        values = [row[c] for row in history for c in columns]
        if min(values) > 0 and max(values) / min(values) > 20:
            ax.set_yscale("log")  # the first epochs would flatten everything after them
        ax.set_title(panel)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()
