"""Training-time image augmentations on float batches (B, 1, H, W), with their randomness
drawn from the training loop's seeded CPU random-number generator (``rng``) so runs repeat
exactly.

- ``hflip``: mirror half of the faces left to right (a face's mirror image is a face).
- ``shift``: move each face by a few pixels, repeating the border into the gap, so a model of
  a few hundred faces does not learn their exact placement (a face moved by 2 pixels is a
  face; the VAE then reconstructs people it never saw better).
- ``diff_augment``: DiffAugment (Zhao et al. 2020), the "translation,cutout" policy, applied
  to real and generated faces alike before the discriminator, differentiably, so the
  discriminator of a small data set cannot memorise the training faces' exact pixels; the
  gaps it opens are mid-gray, as in the reference implementation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from facegen.config import ModelTrainingConfig

# What DiffAugment's gaps are filled with: 0 in the reference's [-1, 1] faces, mid-gray; 0
# here, in [0, 1], would be black, darker than any face, a mark the discriminator could read
GRAY = 0.5


def hflip(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Each image mirrored with probability 1/2."""
    flip = (torch.rand(len(x), generator=rng) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def _translated(
    x: torch.Tensor, rng: torch.Generator, pad_y: int, pad_x: int, fill: str, value: float = 0.0
) -> torch.Tensor:
    """Each image moved by random whole pixels, up to ``pad_y`` and ``pad_x``; the gap filled
    by ``F.pad``'s ``fill`` mode (``value`` for its constant)."""
    n, _, h, w = x.shape
    dy = torch.randint(-pad_y, pad_y + 1, (n, 1), generator=rng).to(x.device)
    dx = torch.randint(-pad_x, pad_x + 1, (n, 1), generator=rng).to(x.device)
    rows = torch.arange(h, device=x.device)[None] + pad_y - dy  # (n, h) into the padded image
    cols = torch.arange(w, device=x.device)[None] + pad_x - dx  # (n, w)
    padded = F.pad(x, (pad_x, pad_x, pad_y, pad_y), mode=fill, value=value if fill == "constant" else None)
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded[batch, 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)


def translate(x: torch.Tensor, rng: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its size in x and y, filling with mid-gray."""
    _, _, h, w = x.shape
    return _translated(x, rng, round(h * ratio), round(w * ratio), "constant", GRAY)


def shift(x: torch.Tensor, rng: torch.Generator, pixels: int) -> torch.Tensor:
    """Shift each image by up to ``pixels`` in x and y, repeating its border pixels."""
    return _translated(x, rng, pixels, pixels, "replicate")


def cutout(x: torch.Tensor, rng: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """Paint one square of ``ratio`` times the image size mid-gray per image, centred anywhere."""
    n, _, h, w = x.shape
    size_y, size_x = round(h * ratio), round(w * ratio)
    cy = torch.randint(0, h, (n, 1), generator=rng).to(x.device)
    cx = torch.randint(0, w, (n, 1), generator=rng).to(x.device)
    ys, xs = torch.arange(h, device=x.device)[None], torch.arange(w, device=x.device)[None]
    inside_y = (ys >= cy - size_y // 2) & (ys < cy + size_y - size_y // 2)  # (n, h)
    inside_x = (xs >= cx - size_x // 2) & (xs < cx + size_x - size_x // 2)  # (n, w)
    keep = ~(inside_y[:, :, None] & inside_x[:, None, :])
    return torch.where(keep[:, None], x, torch.full_like(x, GRAY))


def diff_augment(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """DiffAugment's "translation,cutout" policy."""
    return cutout(translate(x, rng), rng)


def augment_faces(x: torch.Tensor, config: ModelTrainingConfig, rng: torch.Generator) -> torch.Tensor:
    """A training batch (B, 1, 64, 64) as the model sees it: mirrored (``hflip``), then moved
    (``shift``), each drawn from ``rng``."""
    if config.hflip:
        x = hflip(x, rng)
    return shift(x, rng, config.shift) if config.shift else x
