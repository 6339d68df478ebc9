"""Prepared face tensors: ``train.npy``, ``val.npy`` and ``test.npy`` (uint8, N x 1 x 64 x 64)
and ``meta.json`` in the prepare stage's folder, kept as uint8 in memory and turned into
floats in [0, 1] one batch at a time."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from facegen import FacegenError
from facegen.io import atomic_path, write_json


def _write_npy(path: Path, array: np.ndarray) -> None:
    """``np.save`` straight to the file (atomically): no copy of the array in memory."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array, allow_pickle=False)


class Faces(NamedTuple):
    """The prepared parts, uint8 (N, 1, 64, 64): train on ``train``, choose on ``val``,
    report on ``test``."""

    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor


def save_prepared(folder: str | os.PathLike, parts: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write each uint8 (N, H, W) part as an (N, 1, H, W) ``<part>.npy`` file, and ``meta.json``."""
    folder = Path(folder)
    for name in Faces._fields:
        _write_npy(folder / f"{name}.npy", parts[name][:, None])
    write_json(folder / "meta.json", meta)


def load_prepared(folder: str | os.PathLike) -> Faces:
    """The prepared parts as uint8 tensors; convert per batch with ``to_float``."""
    folder = Path(folder)
    paths = [folder / f"{name}.npy" for name in Faces._fields]
    for path in paths:
        if not path.is_file():
            raise FacegenError(f"{path}: not found; run the 'prepare' stage first.")
    return Faces(*(torch.from_numpy(np.load(path)) for path in paths))


def to_float(batch: torch.Tensor, device: torch.device | None = None) -> torch.Tensor:
    """uint8 (B, 1, H, W) -> float32 in [0, 1] on ``device``."""
    return batch.to(device=device, non_blocking=True).float().div_(255.0)
