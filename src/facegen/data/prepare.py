"""From a user's .mat to prepared faces: load (:mod:`facegen.data.mat`), resize to 64x64, split into
training, validation and test faces, and record what was decided.

Validation faces are for choosing (settings, epochs); test faces are only reported on. With
``split: subjects`` both are people the models never see in training."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PIL import Image

from facegen import IMAGE_SIZE, FacegenError
from facegen.config import DataConfig, PrepareConfig
from facegen.data.mat import ImageArray, find_images, read_images
from facegen.io import sha256
from facegen.process import GIB, available_memory

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


def peak_memory(found: ImageArray) -> int:
    """Bytes that preparing ``found`` holds at its peak, the largest of: reading it (the
    array, its uint8 faces, working copies: :attr:`ImageArray.read_bytes`), resizing (the
    faces and their 64x64 copies) and splitting (the 64x64 faces and their parts)."""
    count, _, height, width = found.shape
    final = count * IMAGE_SIZE * IMAGE_SIZE
    resizing = found.gray_bytes + final if (height, width) != (IMAGE_SIZE, IMAGE_SIZE) else 0
    return max(found.read_bytes, resizing, 2 * final)


def check_memory(found: ImageArray, needed: int, available: int | None) -> None:
    """Refuse, before anything is read, a file whose faces need more memory than there is
    (``available`` None: the system does not say, so nothing is refused)."""
    if available is not None and needed > available:
        raise FacegenError(
            f"{found.path}: variable {found.key!r} of shape {found.variable.shape} "
            f"({found.variable.dtype}, {found.variable.nbytes / GIB:.1f} GiB) needs about "
            f"{needed / GIB:.1f} GiB of memory to read and split, and {available / GIB:.1f} GiB "
            "are available; use a file with fewer faces, or a machine with more memory."
        )


def split_indices(n: int, config: PrepareConfig) -> dict[str, np.ndarray]:
    """Indices of the train, val and test parts of ``n`` images in file order, each sorted.

    ``random``: a seeded permutation of single images. ``subjects``: a seeded permutation of
    whole runs of ``group_size`` images (one person each, as in the ORL file: 40 people x 10).
    ``blocks``: test is the last run of the file and val the run before it, for files that
    store a video sequence's frames together and carry no labels."""
    if config.split == "subjects":
        if n % config.group_size:
            raise FacegenError(
                f"prepare.split = 'subjects' needs whole people: {n} images is not a multiple of "
                f"prepare.group_size = {config.group_size}; set the images per person, or split: blocks."
            )
        units = np.arange(n).reshape(-1, config.group_size)
    else:
        units = np.arange(n)[:, None]
    n_val = max(1, round(len(units) * config.val_fraction))
    n_test = max(1, round(len(units) * config.test_fraction))
    if n_val + n_test >= len(units):
        what = "people" if config.split == "subjects" else "images"
        raise FacegenError(
            f"only {len(units)} {what}: too few to hold out {config.val_fraction:.0%} for validation "
            f"and {config.test_fraction:.0%} for test and keep some for training."
        )
    k = len(units)
    if config.split == "blocks":  # the file's own order: its last two runs are held out
        parts = {
            "train": np.arange(k - n_val - n_test),
            "val": np.arange(k - n_val - n_test, k - n_test),
            "test": np.arange(k - n_test, k),
        }
    else:
        order = np.random.default_rng(config.seed).permutation(k)
        parts = {
            "train": order[n_val + n_test :],
            "val": order[:n_val],
            "test": order[n_val : n_val + n_test],
        }
    return {part: np.sort(units[index].ravel()) for part, index in parts.items()}


def prepare_images(data: DataConfig, prepare: PrepareConfig) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Load the .mat named by ``data``, resize to 64x64, split.
    Returns the parts {"train", "val", "test"}: uint8 (N, 64, 64), and a record of what was decided."""
    found = find_images(
        data.mat_path, key=data.key, layout=data.layout, image_size=IMAGE_SIZE, grayscale=data.grayscale
    )
    check_memory(found, peak_memory(found), available_memory())
    loaded = read_images(found)
    log.info("%s", loaded.describe())
    images = loaded.images
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        log.info(
            "resizing %dx%d -> %dx%d (centre square crop, Lanczos)", *images.shape[1:], IMAGE_SIZE, IMAGE_SIZE
        )
        images = resize(images)
    indices = split_indices(len(images), prepare)
    parts = {name: images[index] for name, index in indices.items()}
    counts = [len(part) for part in parts.values()]
    log.info(
        "split %d faces by %s: %d train, %d validation, %d test (seed %d)",
        len(images),
        prepare.split,
        *counts,
        prepare.seed,
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
        "split": prepare.split,
        "seed": prepare.seed,
    }
    for name, index in indices.items():
        meta[name] = len(index)
    # which images (0-based, in file order) were held out, so a user can look them up
    meta |= {f"{name}_indices": indices[name].tolist() for name in ("val", "test")}
    return parts, meta
