"""The files stages hand each other, written atomically (a stage killed midway never leaves a
file that looks complete): JSON and CSV, torch files, the prepared faces, DVCLive's training
logs, and faces tiled into PNG and GIF pictures.

Nothing here imports torch at module level: the data stages run without it."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from PIL import Image

from facegen import FacegenError, History

if TYPE_CHECKING:
    import torch


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())


def sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def csv_text(rows: Sequence[dict[str, Any]]) -> str:
    """A table with one row per dict, columns in the order their keys first appear (``epoch``
    first in the pipeline's tables), blank where a row has no such key; floats with 6
    significant digits."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})
    return buffer.getvalue()


def read_csv(path: str | os.PathLike) -> list[dict[str, Any]]:
    """A table :func:`csv_text` wrote, numbers as floats (and ``epoch`` as an int)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [{k: _number(k, v) for k, v in row.items()} for row in rows]


def _number(key: str, value: str) -> Any:
    try:
        return int(value) if key in ("epoch", "draw") else float(value)
    except ValueError:
        return value


def torch_bytes(obj: Any) -> bytes:
    """``torch.save`` to bytes. Through a buffer: torch.save names the zip's inner folder
    after the file, and a temporary name is random, so saving to it directly would make the
    bytes differ."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def save_torch(path: str | os.PathLike, obj: Any) -> None:
    write_bytes(path, torch_bytes(obj))


def load_torch(path: str | os.PathLike) -> Any:
    """A file :func:`save_torch` wrote (tensors, numbers, text and containers of them only)."""
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


# --- the prepared faces -----------------------------------------------------------------


class Faces(NamedTuple):
    """The prepared parts, uint8 (N, 1, 64, 64): train on ``train``, choose on ``val``,
    report on ``test``."""

    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor


def save_prepared(folder: str | os.PathLike, parts: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write each uint8 (N, H, W) part as an (N, 1, H, W) ``<part>.npy`` file (straight to
    the file: no copy of the array in memory), and ``meta.json``."""
    folder = Path(folder)
    for name in Faces._fields:
        with atomic_path(folder / f"{name}.npy") as tmp, open(tmp, "wb") as f:
            np.save(f, parts[name][:, None], allow_pickle=False)
    write_json(folder / "meta.json", meta)


def load_prepared(folder: str | os.PathLike) -> Faces:
    """The prepared parts as uint8 tensors; convert per batch with :func:`to_float`."""
    import torch

    folder = Path(folder)
    paths = [folder / f"{name}.npy" for name in Faces._fields]
    for path in paths:
        if not path.is_file():
            raise FacegenError(f"{path}: not found; run the 'prepare' stage first.")
    return Faces(*(torch.from_numpy(np.load(path)) for path in paths))


def to_float(batch: torch.Tensor, device: torch.device | str | None = None) -> torch.Tensor:
    """uint8 (B, 1, H, W) -> float32 in [0, 1] on ``device``."""
    return batch.to(device=device, non_blocking=True).float().div_(255.0)


# --- DVCLive's training logs ----------------------------------------------------------------


def read_training_log(folder: str | os.PathLike) -> History:
    """The per-epoch rows DVCLive logged into ``folder`` (``plots/metrics/<name>.tsv``, one
    file per metric with its ``step``, the epoch): ``{"epoch": ..., "train_loss": ...}``, a
    metric's path joined by ``_``, in the order of the files' names."""
    root = Path(folder) / "plots" / "metrics"
    files = sorted(root.rglob("*.tsv"))
    if not files:
        raise FacegenError(f"{root}: no training log found; run the training stages first.")
    rows: dict[int, dict[str, float]] = {}
    for path in files:
        name = "_".join(path.relative_to(root).with_suffix("").parts)
        with open(path, newline="") as f:
            for record in csv.DictReader(f, delimiter="\t"):
                epoch = int(record["step"])
                rows.setdefault(epoch, {"epoch": epoch})[name] = float(record[path.stem])
    return [rows[epoch] for epoch in sorted(rows)]


# --- pictures ---------------------------------------------------------------------------

PAD = 2  # pixels of white between tiles


def grid(images: torch.Tensor, columns: int) -> np.ndarray:
    """(N, 1, H, W) floats in [0, 1] (clipped) -> one uint8 (rows, columns) tiled image."""
    n, _, height, width = images.shape
    rows = -(-n // columns)
    canvas = np.full((rows * (height + PAD) + PAD, columns * (width + PAD) + PAD), 255, np.uint8)
    tiles = np.rint(np.clip(images.detach().float().cpu().numpy(), 0, 1) * 255).astype(np.uint8)
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
