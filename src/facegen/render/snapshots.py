"""Pictures of what each snapshot learned: latent interpolation walks, fixed-z samples, the
VAE's reconstructions of validation faces, and the last epoch's walks as an animation."""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

from facegen.config import RenderConfig
from facegen.io import gif_bytes, grid, png_bytes, to_float
from facegen.models import GAN, VAE, ModelDir, fixed_codes, load_checkpoint
from facegen.render.walks import chosen_faces, walk_frames, walks
from facegen.runtime import CPU


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
    ends = fixed_codes(2 * config.rows, model.latent_dim, config.seed + 1)
    walk = model.generate(walks(ends[0::2], ends[1::2], config.steps, config.mode).to(device))
    return walk, model.generate(z.to(device))


def render_snapshots(
    kind: str, model_dir: ModelDir, val_images: torch.Tensor, config: RenderConfig
) -> Iterator[tuple[str, bytes]]:
    """Every picture of every snapshot of one model, as (path relative to the plots folder,
    file bytes), then the last snapshot's walks as a GIF."""
    columns = math.ceil(math.sqrt(config.samples))
    walk = None
    for epoch, path in model_dir.snapshots():
        model = CPU.place(load_checkpoint(path))
        z = fixed_codes(config.samples, model.latent_dim, config.seed)
        if kind == "vae":
            walk, samples, recon = vae_pictures(model, val_images, z, config)
            yield f"vae/vae_reconstruction_E{epoch}.png", png_bytes(grid(recon, config.rows))
        else:
            walk, samples = gan_pictures(model, z, config)
        yield f"{kind}/{kind}_interpolation_E{epoch}.png", png_bytes(grid(walk, config.steps))
        yield f"{kind}/{kind}_samples_E{epoch}.png", png_bytes(grid(samples, columns))
    if walk is not None:
        frames = walk_frames(walk, config.rows, config.steps)
        yield f"{kind}/{kind}_interpolation.gif", gif_bytes(frames, config.fps)
