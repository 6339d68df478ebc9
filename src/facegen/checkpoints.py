"""The files of a trained model, and nothing else knows their names.

A training stage's output folder holds::

    checkpoint.pt           the final model (self-describing: kind, model_args, state_dict, ...)
    snapshots/epoch_XXXX.pt the model every ``snapshot_every`` epochs and at the last one,
                            compact (int8 and float16; a GAN's generator only): what
                            pictures and metrics need, in a quarter of the disk
    history.json            one row of losses per epoch

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

from facegen import History
from facegen.io import read_json, save_torch, write_json
from facegen.models import GAN, MODELS, VAE

QUANTISE_FROM = 65536  # compact snapshots keep weights of this many elements or more in int8
SnapshotFn = Callable[[int, nn.Module], None]


def checkpoint(
    kind: str, model: VAE | GAN, epoch: int, config: dict[str, Any], compact: bool = False
) -> dict[str, Any]:
    """A self-describing checkpoint: enough to rebuild the model without the params file.

    ``compact`` (the snapshots): only what pictures and metrics use, in a quarter of the
    bytes: a GAN's generator without its discriminator; the large fully connected weights in
    int8 with one float16 scale per row (``scales``), everything else in float16. Faces drawn
    from it differ from the full model's by at most about one gray level. The final
    checkpoint is full."""
    state = model.state_dict()
    if compact and kind == "gan":
        state = {k: v for k, v in state.items() if k.startswith("generator.")}
    # contiguous: the same bytes whatever memory format training used
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    scales = {}
    if compact:
        for name, tensor in tensors.items():
            if not tensor.is_floating_point():
                continue
            if tensor.dim() == 2 and tensor.numel() >= QUANTISE_FROM:
                scale = (tensor.abs().amax(1, keepdim=True) / 127).clamp_min(1e-12).half()
                tensors[name] = (tensor / scale.float()).round().clamp(-127, 127).to(torch.int8)
                scales[name] = scale
            else:
                tensors[name] = tensor.half()
    return {
        "kind": kind,
        "model_args": model.model_args,
        "state_dict": tensors,
        "scales": scales,
        "epoch": epoch,
        "config": config,
        "compact": compact,
    }


def from_checkpoint(ckpt: dict[str, Any], device: torch.device | str = "cpu") -> VAE | GAN:
    """Rebuild the model a :func:`checkpoint` describes, in its architecture (``lab`` for
    checkpoints from before there were two), in eval mode, in float32 (a compact snapshot's
    GAN has a freshly initialised discriminator: it only generates)."""
    model = MODELS[ckpt["kind"]](**ckpt["model_args"])
    state = dict(ckpt["state_dict"])
    for name, scale in ckpt.get("scales", {}).items():
        state[name] = state[name].float() * scale.float()
    missing, unexpected = model.load_state_dict(state, strict=False)
    allowed = [k for k in missing if ckpt.get("compact") and k.startswith("discriminator.")]
    if unexpected or len(allowed) != len(missing):
        raise RuntimeError(
            f"checkpoint does not fit {type(model).__name__}: missing {missing}, unexpected {unexpected}"
        )
    return model.to(device).eval()


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> VAE | GAN:
    return from_checkpoint(torch.load(path, map_location="cpu", weights_only=True), device)


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
    def history_path(self) -> Path:
        return self.path / "history.json"

    def snapshot_writer(self, kind: str, config: Any) -> SnapshotFn:
        """A callback that saves ``snapshots/epoch_XXXX.pt``; empties the folder first so no
        epoch of an earlier run is left behind (nor a temporary file of a killed one).
        ``config`` is the stage's dataclass."""
        shutil.rmtree(self.snapshots_path, ignore_errors=True)
        for stale in self.path.glob(".*.tmp"):
            stale.unlink()

        def save(epoch: int, model: nn.Module) -> None:
            path = self.snapshots_path / f"epoch_{epoch:04d}.pt"
            save_torch(path, checkpoint(kind, model, epoch, asdict(config), compact=True))

        return save

    def snapshots(self) -> list[tuple[int, Path]]:
        """(epoch, path) of every snapshot, oldest first."""
        paths = sorted(self.snapshots_path.glob("epoch_*.pt"))
        return [(int(p.stem.split("_")[1]), p) for p in paths]

    def save_final(
        self,
        kind: str,
        model: VAE | GAN,
        history: History,
        config: Any,
        trained_with: dict[str, str] | None = None,
    ) -> None:
        """The final checkpoint, then the history (written last: its presence means done).
        ``trained_with`` (:meth:`Runtime.describe`: device, precision, torch) is stored as is."""
        ckpt = checkpoint(kind, model, len(history), asdict(config))
        save_torch(self.checkpoint_path, {**ckpt, "trained_with": trained_with or {}})
        write_json(self.history_path, history)

    def history(self) -> History:
        return read_json(self.history_path)
