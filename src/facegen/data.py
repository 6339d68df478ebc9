"""Prepared face tensors: ``train.npy`` and ``val.npy`` (uint8, N x 1 x 64 x 64) and
``meta.json`` in the prepare stage's folder, kept as uint8 in memory and turned into floats
in [0, 1] one batch at a time."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from facegen import FacegenError
from facegen.io import write_bytes, write_json


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def save_prepared(
    folder: str | os.PathLike, train: np.ndarray, val: np.ndarray, meta: dict[str, Any]
) -> None:
    """Write uint8 (N, H, W) ``train`` and ``val`` as (N, 1, H, W) ``.npy`` files, and ``meta.json``."""
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


def to_float(batch: torch.Tensor, device: torch.device | None = None) -> torch.Tensor:
    """uint8 (B, 1, H, W) -> float32 in [0, 1] on ``device``."""
    return batch.to(device=device, non_blocking=True).float().div_(255.0)
