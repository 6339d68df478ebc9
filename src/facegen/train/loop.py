"""What both training loops share: seeded batches, checks that stop a run with one sentence,
and the epoch loop itself (:func:`run_epochs`): train an epoch with the stage's progress,
log it, and at every snapshot save the model, its samples and the state a killed run
resumes from."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn
from tqdm import tqdm

from facegen import FacegenError, History
from facegen.config import ModelTrainingConfig
from facegen.progress import progress as stage_progress
from facegen.runtime import share_cpus
from facegen.train.log import TrainingLog
from facegen.train.resume import Resume

log = logging.getLogger(__name__)

SnapshotFn = Callable[[int, nn.Module], None]  # (epoch, model): saves a snapshot
EpochFn = Callable[[int, tqdm], dict[str, float]]  # (epoch, progress): the epoch's mean losses


class Stateful(Protocol):
    """What a resume state is made of: models, optimizers, schedulers, weight averages."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


def batches(n: int, batch_size: int, rng: torch.Generator) -> list[torch.Tensor]:
    """A seeded shuffle of range(n) cut into full batches (the remainder is dropped, as
    batch norm on a batch of one is undefined; it is a different remainder each epoch)."""
    order = torch.randperm(n, generator=rng)
    return list(order[: n - n % batch_size].split(batch_size))


def check_finite(section: str, epoch: int, row: dict[str, float]) -> None:
    bad = {k: v for k, v in row.items() if not math.isfinite(v)}
    if bad:
        name, value = next(iter(bad.items()))
        raise FacegenError(
            f"{section}: {name} became {value} at epoch {epoch}; training stopped before saving. "
            f"Try a lower {section}.lr."
        )


def snapshot_due(epoch: int, epochs: int, every: int) -> bool:
    return epoch % every == 0 or epoch == epochs


@dataclass
class Session:
    """One training run's moving parts: its named ``parts`` (model, optimizer, schedulers,
    weight average), the seeded ``rng`` every random draw comes from, the batches of an
    epoch, and the rows logged so far. :meth:`state` is what a resume state holds;
    :meth:`restore` puts it back, bit for bit, on as many CPU threads as it was computed on."""

    name: str  # "vae" or "gan": the params section, the log's prefix
    config: ModelTrainingConfig
    parts: dict[str, Stateful]
    rng: torch.Generator
    steps_per_epoch: int
    history: History = field(default_factory=list)

    def state(self) -> dict[str, Any]:
        randomness = {"rng": self.rng.get_state(), "torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            randomness["cuda"] = torch.cuda.get_rng_state_all()
        parts = {name: part.state_dict() for name, part in self.parts.items()}
        return parts | {"random": randomness, "history": self.history, "threads": torch.get_num_threads()}

    def restore(self, state: dict[str, Any]) -> None:
        share_cpus(state["threads"])  # the rounding of the epochs to come: as they began
        for name, part in self.parts.items():
            part.load_state_dict(state[name])
        self.rng.set_state(state["random"]["rng"])
        torch.set_rng_state(state["random"]["torch"])
        if "cuda" in state["random"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["random"]["cuda"])
        self.history = state["history"]


def run_epochs(
    session: Session,
    train_epoch: EpochFn,
    snapshot_model: Callable[[], nn.Module],
    on_snapshot: SnapshotFn,
    training_log: TrainingLog | None = None,
    resume: Resume | None = None,
) -> tuple[nn.Module, History]:
    """Train ``session.config.epochs`` epochs (``train_epoch(epoch, progress)``: the epoch's
    mean losses, a step of ``progress`` per batch), from the resume state if there is one.
    At every snapshot epoch the model ``snapshot_model()`` gives (the prior fitted, the
    weights averaged) goes to ``on_snapshot``, its samples to the log, and the session to the
    resume state. Returns the last snapshot's model and every epoch's row."""
    name, config = session.name, session.config
    state = resume.load() if resume else None
    if state:
        session.restore(state)
        if training_log is not None:
            training_log.replay(session.history, snapshot_model())
    model = None
    first = len(session.history) + 1
    total = config.epochs * session.steps_per_epoch
    with stage_progress(total, "step", name, done=(first - 1) * session.steps_per_epoch) as progress:
        for epoch in range(first, config.epochs + 1):
            started = time.perf_counter()
            row = {"epoch": epoch} | train_epoch(epoch, progress)
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
