"""Sliced Wasserstein distance over a Laplacian pyramid (Karras et al. 2018): how far a set
of faces is from a reference set in the statistics of their 7x7 patches, at three scales.

Works on float images (N, 1, H, W) in [0, 1] and needs no pretrained network."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


def _binomial_blur(x: torch.Tensor) -> torch.Tensor:
    """5-tap binomial low-pass filter [1, 4, 6, 4, 1] / 16 in both directions, reflect-padded."""
    kernel = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=x.dtype, device=x.device) / 16
    kernel = (kernel[:, None] * kernel[None, :]).expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel, groups=x.shape[1])


def _downsample(x: torch.Tensor) -> torch.Tensor:
    """Blur, then keep every second pixel: (N, C, H, W) -> (N, C, H/2, W/2)."""
    return _binomial_blur(x)[:, :, ::2, ::2]


def upsample(x: torch.Tensor) -> torch.Tensor:
    """Insert zeros between pixels, then blur (x4 for the zeros): (N, C, H, W) -> (N, C, 2H, 2W).
    Reproduces linear ramps exactly away from the borders (no half-pixel shift)."""
    n, c, h, w = x.shape
    spread = x.new_zeros(n, c, 2 * h, 2 * w)
    spread[:, :, ::2, ::2] = x
    return 4 * _binomial_blur(spread)


def laplacian_pyramid(images: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Band-pass levels, finest first, then the low-pass residual: for 64x64 and 3 levels,
    (64x64, 32x32 details; 16x16 residual), as in Karras et al. 2018 (5-tap binomial filter,
    zero insertion); the tests invert it exactly."""
    pyramid = []
    current = images
    for _ in range(levels - 1):
        down = _downsample(current)
        pyramid.append(current - upsample(down))
        current = down
    pyramid.append(current)
    return pyramid


def _corners(
    n: int, height: int, width: int, per_image: int, size: int, rng: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-left corners (ys, xs), each (n, per_image), of random size x size neighbourhoods."""
    ys = torch.randint(0, height - size + 1, (n, per_image), generator=rng)
    xs = torch.randint(0, width - size + 1, (n, per_image), generator=rng)
    return ys, xs


def _gather(level: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor, size: int) -> torch.Tensor:
    """The neighbourhoods at corners ``ys``, ``xs`` of each image, flattened: (N * per_image, size^2)."""
    n, per_image = ys.shape
    offsets = torch.arange(size)
    rows = (ys[..., None] + offsets)[..., :, None].expand(n, per_image, size, size)
    cols = (xs[..., None] + offsets)[..., None, :].expand(n, per_image, size, size)
    batch = torch.arange(n)[:, None, None, None].expand_as(rows)
    return level[:, 0][batch, rows, cols].reshape(n * per_image, size * size)


def _sorted_projections(directions: torch.Tensor, patches: torch.Tensor) -> np.ndarray:
    """(directions, descriptors): each descriptor projected on each unit direction, sorted
    along each direction. The 1-D Wasserstein distance along a direction compares two such
    sorted rows. Sorted along contiguous rows: numpy's sort is the fastest here, and sorting
    dominates the cost."""
    return np.sort((directions.T @ patches.T).numpy(), axis=1)


@dataclass(frozen=True)
class _Band:
    """One pyramid level of a prepared reference set."""

    ys: torch.Tensor  # (count, per_image) corners of the compared set's neighbourhoods
    xs: torch.Tensor
    mean: torch.Tensor  # the reference's statistics, which normalise both sets
    std: torch.Tensor
    directions: torch.Tensor  # (size^2, directions) unit vectors
    sorted_reference: np.ndarray  # (directions, descriptors) sorted projections


class SlicedWasserstein:
    """Sliced Wasserstein distance to a fixed reference set, following Karras et al. 2018,
    section 5 and appendix D: 7x7 neighbourhoods (128 per image per level), normalised per
    level, 512 random unit directions (the paper repeats them 4 times: one draw of 512 per
    draw of faces here, spread over the draws), x1000 as in the paper's tables; one value per Laplacian-pyramid level, finest first.

    The reference's side (its pyramid, neighbourhoods, statistics and sorted projections) is
    computed once, so comparing many sets of ``count`` images with one reference costs half
    as much; the random draws are those of comparing one set with the reference afresh.
    The distance depends on the sample size: compare sets as large as the reference."""

    def __init__(
        self,
        reference: torch.Tensor,
        count: int,
        seed: int = 0,
        levels: int = 3,
        patches_per_image: int = 128,
        patch_size: int = 7,
        directions: int = 512,
    ) -> None:
        self.count, self.levels, self.patch_size = count, levels, patch_size
        rng = torch.Generator().manual_seed(seed)
        self.bands = []
        for level in laplacian_pyramid(reference, levels):
            height, width = level.shape[-2:]
            # the compared set's corners first, then the reference's: one stream, fixed order
            ys, xs = _corners(count, height, width, patches_per_image, patch_size, rng)
            corners = _corners(len(level), height, width, patches_per_image, patch_size, rng)
            patches = _gather(level, *corners, patch_size)
            # Normalise both sets with the reference set's statistics (the paper normalises each
            # set by its own, which hides a global brightness or contrast error).
            mean, std = patches.mean(), patches.std().clamp_min(1e-8)
            patches = (patches - mean) / std
            units = torch.randn(patches.shape[1], directions, generator=rng)
            units = units / units.norm(dim=0, keepdim=True)
            self.bands.append(_Band(ys, xs, mean, std, units, _sorted_projections(units, patches)))

    def __call__(self, images: torch.Tensor) -> list[float]:
        if len(images) != self.count:
            raise ValueError(f"{len(images)} images against a reference prepared for {self.count}")
        distances = []
        for band, level in zip(self.bands, laplacian_pyramid(images, self.levels), strict=True):
            patches = (_gather(level, band.ys, band.xs, self.patch_size) - band.mean) / band.std
            projected = _sorted_projections(band.directions, patches)
            distances.append(1000 * float(np.abs(projected - band.sorted_reference).mean()))
        return distances
