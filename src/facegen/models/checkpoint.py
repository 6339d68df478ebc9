"""The files of a trained model, and nothing else knows their names.

A training stage's output folder holds::

    checkpoint.pt           the final model, as trained (float32; self-describing: kind,
                            model_args, state_dict, epoch, config, how it was trained)
    snapshots/epoch_XXXX.pt the model every ``snapshot_every`` epochs and at the last one:
                            what the per-epoch pictures and curves use, its weights in
                            float16 (half the disk; faces drawn from it differ from the
                            float32 model's by at most about one gray level), its batch-norm
                            statistics and prior in float32; a GAN's generator only
    live/                   DVCLive's log of the training: per-epoch metrics, the latest
                            samples, metrics.json (live in ``dvc exp show``)

Load a model anywhere with ``load_checkpoint("models/vae/checkpoint.pt")``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from facegen import FacegenError
from facegen.io import load_torch, save_torch
from facegen.models.gan import GAN
from facegen.models.vae import VAE

MODELS: dict[str, type[VAE] | type[GAN]] = {"vae": VAE, "gan": GAN}


def checkpoint(
    kind: str, model: VAE | GAN, epoch: int, config: dict[str, Any], snapshot: bool = False
) -> dict[str, Any]:
    """A self-describing checkpoint: enough to rebuild the model without the params file.

    ``snapshot``: what pictures and curves use, in half the bytes: a GAN's generator without
    its discriminator, parameters in float16 (buffers, the batch-norm statistics and the
    VAE's prior, stay float32)."""
    state = model.state_dict()
    if snapshot and kind == "gan":
        state = {k: v for k, v in state.items() if k.startswith("generator.")}
    parameters = {name for name, _ in model.named_parameters()}
    # contiguous: the same bytes whatever memory format training used
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    if snapshot:
        tensors = {k: v.half() if k in parameters else v for k, v in tensors.items()}
    return {
        "kind": kind,
        "model_args": model.model_args,
        "state_dict": tensors,
        "epoch": epoch,
        "config": config,
        "snapshot": snapshot,
    }


def from_checkpoint(ckpt: dict[str, Any], device: torch.device | str = "cpu") -> VAE | GAN:
    """Rebuild the model a :func:`checkpoint` describes, in eval mode, in float32 (a GAN
    snapshot's discriminator is freshly initialised: it only generates)."""
    model = MODELS[ckpt["kind"]](**ckpt["model_args"])
    missing, unexpected = model.load_state_dict(ckpt["state_dict"], strict=False)  # float16 -> float32
    allowed = [k for k in missing if ckpt.get("snapshot") and k.startswith("discriminator.")]
    if unexpected or len(allowed) != len(missing):
        wrong = [*unexpected, *(k for k in missing if k not in allowed)]
        raise FacegenError(
            f"a {ckpt['kind']} checkpoint's weights do not fit the model it describes (first of "
            f"{len(wrong)}: {wrong[0]!r}); it was written by another version of facegen: rerun its training stage."
        )
    return model.to(device).eval()


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint file as the dict :func:`checkpoint` made."""
    if not Path(path).is_file():
        raise FacegenError(f"{path}: no such checkpoint; run the training stages first (dvc repro).")
    return load_torch(path)


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> VAE | GAN:
    return from_checkpoint(read_checkpoint(path), device)


@dataclass(frozen=True)
class ModelDir:
    """The output folder of one training stage (``models/vae``, ``models/gan``)."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))  # accept a str too

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.pt"

    @property
    def snapshots_path(self) -> Path:
        return self.path / "snapshots"

    @property
    def live_path(self) -> Path:
        """DVCLive's folder: ``metrics.json`` and ``plots/`` (metrics per epoch, images)."""
        return self.path / "live"

    def snapshot_writer(self, kind: str, config: Any) -> Callable[[int, nn.Module], None]:
        """A callback that saves ``snapshots/epoch_XXXX.pt``; empties the folder first so no
        epoch of an earlier run is left behind (nor a temporary file of a killed one).
        ``config`` is the stage's dataclass."""
        shutil.rmtree(self.snapshots_path, ignore_errors=True)
        for stale in self.path.glob(".*.tmp"):
            stale.unlink()

        def save(epoch: int, model: nn.Module) -> None:
            path = self.snapshots_path / f"epoch_{epoch:04d}.pt"
            save_torch(path, checkpoint(kind, model, epoch, asdict(config), snapshot=True))

        return save

    def snapshots(self) -> list[tuple[int, Path]]:
        """(epoch, path) of every snapshot, oldest first; at least one."""
        paths = sorted(self.snapshots_path.glob("epoch_*.pt"))
        if not paths:
            raise FacegenError(
                f"{self.snapshots_path}: no snapshots; run the training stages first (dvc repro)."
            )
        return [(int(p.stem.split("_")[1]), p) for p in paths]

    def save_final(
        self, kind: str, model: VAE | GAN, epoch: int, config: Any, trained_with: dict[str, str]
    ) -> None:
        """The final checkpoint, as trained. ``trained_with`` (:meth:`Runtime.describe`:
        device, precision, torch) is stored as is."""
        ckpt = checkpoint(kind, model, epoch, asdict(config))
        save_torch(self.checkpoint_path, {**ckpt, "trained_with": trained_with})
