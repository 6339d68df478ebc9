"""What both training loops share: seeded batches, progress bars, checks that stop a run
with one sentence, and the epoch loop itself (:func:`run_epochs`): train an epoch, log it,
and at every snapshot save the model, its samples and the state a killed run resumes from."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn
from tqdm.auto import tqdm

from facegen import FacegenError, History
from facegen.config import ModelTrainingConfig
from facegen.train.log import TrainingLog
from facegen.train.resume import Resume

log = logging.getLogger(__name__)

SnapshotFn = Callable[[int, nn.Module], None]  # (epoch, model): saves a snapshot


class Stateful(Protocol):
    """What a resume state is made of: models, optimizers, schedulers, weight averages."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


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


def snapshot_due(epoch: int, epochs: int, every: int) -> bool:
    return epoch % every == 0 or epoch == epochs


@dataclass
class Session:
    """One training run's moving parts: its named ``parts`` (model, optimizers, schedulers,
    weight average), the seeded generator every random draw comes from, and the rows logged
    so far. :meth:`state` is what a resume state holds; :meth:`restore` puts it back, bit
    for bit."""

    name: str  # "vae" or "gan": the params section, the log's prefix
    config: ModelTrainingConfig
    parts: dict[str, Stateful]
    generator: torch.Generator
    history: History = field(default_factory=list)

    def state(self) -> dict[str, Any]:
        randomness = {"generator": self.generator.get_state(), "torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            randomness["cuda"] = torch.cuda.get_rng_state_all()
        parts = {name: part.state_dict() for name, part in self.parts.items()}
        return parts | {"random": randomness, "history": self.history}

    def restore(self, state: dict[str, Any]) -> None:
        for name, part in self.parts.items():
            part.load_state_dict(state[name])
        self.generator.set_state(state["random"]["generator"])
        torch.set_rng_state(state["random"]["torch"])
        if "cuda" in state["random"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["random"]["cuda"])
        self.history = state["history"]


def run_epochs(
    session: Session,
    train_epoch: Callable[[int], dict[str, float]],
    snapshot_model: Callable[[], nn.Module],
    on_snapshot: SnapshotFn,
    training_log: TrainingLog | None = None,
    resume: Resume | None = None,
) -> tuple[nn.Module, History]:
    """Train ``session.config.epochs`` epochs (``train_epoch(epoch)``: the epoch's mean
    losses), from the resume state if there is one. At every snapshot epoch the model
    ``snapshot_model()`` gives (the prior fitted, the weights averaged) goes to
    ``on_snapshot``, its samples to the log, and the session to the resume state. Returns
    the last snapshot's model and every epoch's row."""
    name, config = session.name, session.config
    state = resume.load() if resume else None
    if state:
        session.restore(state)
        if training_log is not None:
            training_log.replay(session.history, snapshot_model())
    model = None
    for epoch in epoch_bar(len(session.history) + 1, config.epochs, name):
        started = time.perf_counter()
        row = {"epoch": epoch} | train_epoch(epoch)
        check_finite(name, epoch, row)
        session.history.append(row)
        terms = "  ".join(f"{k} {v:.4g}" for k, v in row.items() if k != "epoch")
        log.info(
            "%s epoch %3d/%d  %s  %.2fs", name, epoch, config.epochs, terms, time.perf_counter() - started
        )
        if training_log is not None:
            training_log.epoch(row)
        if snapshot_due(epoch, config.epochs, config.snapshot_every):
            model = snapshot_model()
            on_snapshot(epoch, model)
            if training_log is not None:
                training_log.samples(model)
            if resume:
                resume.save(epoch, session.state())
    if model is None:  # resumed after the last snapshot
        model = snapshot_model()
    return model, session.history
