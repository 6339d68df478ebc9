"""What both training loops share: seeded batches, progress bars, checks that stop a run
with one sentence, the training faces' augmentation, when snapshots are due, and the random
states a resumed run restores."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch
from tqdm.auto import tqdm

from facegen import FacegenError
from facegen.augment import hflip, shift
from facegen.config import ModelTrainingConfig


def batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """A seeded shuffle of range(n) cut into full batches (the remainder is dropped, as
    batch norm on a batch of one is undefined; it is a different remainder each epoch)."""
    order = torch.randperm(n, generator=generator)
    return list(order[: n - n % batch_size].split(batch_size))


def check_batches(n: int, batch_size: int, section: str) -> None:
    if n < batch_size:
        raise FacegenError(
            f"{section}: only {n} training images, fewer than one batch of {section}.batch_size = "
            f"{batch_size}; lower the batch size or bring more images."
        )


def check_finite(section: str, epoch: int, row: dict[str, float]) -> None:
    bad = {k: v for k, v in row.items() if not math.isfinite(v)}
    if bad:
        name, value = next(iter(bad.items()))
        raise FacegenError(
            f"{section}: {name} became {value} at epoch {epoch}; training stopped before saving. "
            f"Try a lower {section}.lr."
        )


def progress(items: list[torch.Tensor], desc: str) -> Iterator[torch.Tensor]:
    # disable=None: a bar on a terminal, none in logs and CI.
    return tqdm(items, desc=desc, unit="batch", leave=False, dynamic_ncols=True, disable=None)


def epoch_bar(first: int, last: int, desc: str) -> Iterator[int]:
    """Epochs ``first``..``last`` with a bar and the time left on a terminal (the per-epoch
    log lines print above it); nothing extra in logs and CI."""
    return tqdm(
        range(first, last + 1), desc=desc, unit="epoch", initial=first - 1, total=last,
        dynamic_ncols=True, disable=None,
    )  # fmt: skip


def augment_faces(x: torch.Tensor, config: ModelTrainingConfig, generator: torch.Generator) -> torch.Tensor:
    """A training batch (B, 1, 64, 64) as the model sees it: mirrored (``hflip``), then moved
    (``shift``), each drawn from ``generator``."""
    if config.hflip:
        x = hflip(x, generator)
    return shift(x, generator, config.shift) if config.shift else x


def snapshot_due(epoch: int, epochs: int, every: int) -> bool:
    return epoch % every == 0 or epoch == epochs


def random_states(generator: torch.Generator) -> dict[str, Any]:
    """Every random generator training draws from, to resume bit for bit."""
    states = {"generator": generator.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_random_states(generator: torch.Generator, states: dict[str, Any]) -> None:
    generator.set_state(states["generator"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
