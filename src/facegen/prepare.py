"""From a user's .mat to prepared tensors: load (``mat.py``), resize to 64x64, split into
training and validation faces, and record what was decided."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PIL import Image

from facegen import IMAGE_SIZE, FacegenError
from facegen.config import DataConfig, PrepareConfig
from facegen.io import sha256
from facegen.mat import load_mat

log = logging.getLogger(__name__)


def resize(images: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """Centre-crop each (H, W) image to a square, then resize to size x size with Lanczos
    filtering (antialiased when shrinking)."""
    n, height, width = images.shape
    if height == width == size:
        return images
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    out = np.empty((n, size, size), dtype=np.uint8)
    for i in range(n):
        square = Image.fromarray(images[i, top : top + side, left : left + side])
        out[i] = np.asarray(square.resize((size, size), Image.LANCZOS))
    return out


def split(images: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random train/validation split; each part keeps file order."""
    n = len(images)
    n_val = max(1, round(n * val_fraction))
    if n_val >= n:
        raise FacegenError(f"only {n} images: too few to hold out {val_fraction:.0%} for validation.")
    order = np.random.default_rng(seed).permutation(n)
    val_index, train_index = np.sort(order[:n_val]), np.sort(order[n_val:])
    return images[train_index], images[val_index]


def prepare_images(data: DataConfig, prepare: PrepareConfig) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Load the .mat named by ``data``, resize to 64x64, split.
    Returns (train, val) uint8 (N, 64, 64) and a record of what was decided."""
    loaded = load_mat(
        data.mat_path, key=data.key, layout=data.layout, image_size=IMAGE_SIZE, grayscale=data.grayscale
    )
    log.info("%s", loaded.describe())
    images = loaded.images
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        log.info(
            "resizing %dx%d -> %dx%d (centre square crop, Lanczos)", *images.shape[1:], IMAGE_SIZE, IMAGE_SIZE
        )
        images = resize(images)
    train, val = split(images, prepare.val_fraction, prepare.seed)
    log.info(
        "split %d faces: %d train, %d validation (seed %d)", len(images), len(train), len(val), prepare.seed
    )
    meta = {
        "source": str(data.mat_path),
        "sha256": sha256(data.mat_path),
        "variable": loaded.key,
        "layout": loaded.layout,
        "source_shape": list(loaded.source_shape),
        "source_dtype": loaded.source_dtype,
        "value_range": list(loaded.value_range),
        "count": len(images),
        "image_size": IMAGE_SIZE,
        "train": len(train),
        "val": len(val),
        "seed": prepare.seed,
    }
    return train, val, meta
