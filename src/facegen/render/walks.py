"""Walks through code space: straight (lerp) or along a great circle (slerp), and the frames
of their animation."""

from __future__ import annotations

import math

import numpy as np
import torch

from facegen.io import grid


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


def chosen_faces(n_available: int, n: int, seed: int) -> torch.Tensor:
    """``n`` fixed indices of ``n_available`` faces (repeating if there are fewer than ``n``)."""
    order = torch.randperm(n_available, generator=torch.Generator().manual_seed(seed))
    return order[torch.arange(n) % n_available]


def walk_frames(walk_images: torch.Tensor, rows: int, steps: int) -> list[np.ndarray]:
    """Frames of an animation: frame t shows step t of every walk side by side; it plays
    forward then back so the loop has no jump."""
    per_step = walk_images.view(rows, steps, *walk_images.shape[1:]).transpose(0, 1)
    frames = [grid(per_step[t], columns=rows) for t in range(steps)]
    return frames + frames[-2:0:-1]
