"""DVCLive's log of a training stage (``models/<model>/live``): each epoch's mean losses as a
metric (``plots/metrics/<name>.tsv``, the epoch as its step), the latest snapshot's samples
(``plots/images/samples.png``: 64 fixed codes), and ``metrics.json``, the latest epoch's
values, which ``dvc exp show`` shows while the stage runs. The ``export`` stage turns the
metrics into the loss tables.

A resumed stage starts the log afresh and replays the epochs of its resume state into it,
so the files are those of a run that was never stopped."""

from __future__ import annotations

import logging
import os
from types import TracebackType

import torch
from dvclive import Live
from scmrepo.exceptions import SCMError
from torch import nn

from facegen import FacegenError, History
from facegen.io import grid
from facegen.models import fixed_codes

SAMPLES, COLUMNS = 64, 8


class TrainingLog:
    """DVCLive's ``Live`` in ``folder``, for a model of ``latent_dim``-d codes; use as a
    context manager."""

    def __init__(self, folder: str | os.PathLike, latent_dim: int, seed: int) -> None:
        logging.getLogger("dvclive").setLevel(logging.WARNING)  # not its experiment-name chatter
        # No dvc.yaml of its own (the pipeline's declares the outputs) and no experiment of
        # its own (the stage runs inside `dvc repro` or `dvc exp run`).
        try:
            self.live = Live(os.fspath(folder), save_dvc_exp=False, dvcyaml=None)
        except SCMError as exc:  # DVCLive reads the git HEAD, which a repo without commits lacks
            raise FacegenError(
                f"DVCLive, the training log, cannot start in this git repository ({exc}); "
                "commit first: git add -A && git commit -m start."
            ) from None
        self.codes = fixed_codes(SAMPLES, latent_dim, seed)

    def epoch(self, row: dict[str, float]) -> None:
        """Log one epoch's row (``{"epoch": 3, "train_loss": ..., ...}``)."""
        self.live.step = int(row["epoch"])
        for name, value in row.items():
            if name != "epoch":
                self.live.log_metric(name, value)
        self.live.next_step()

    @torch.no_grad()
    def samples(self, model: nn.Module) -> None:
        """The model's faces for the fixed codes, in eval mode, as the latest samples."""
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        faces = model.generate(self.codes.to(device)).float()  # (64, 1, 64, 64)
        model.train(was_training)
        self.live.log_image("samples.png", grid(faces, COLUMNS))

    def replay(self, history: History, model: nn.Module) -> None:
        """Log the epochs of a resumed run again, and its last snapshot's samples."""
        for row in history:
            self.epoch(row)
        if history:
            self.samples(model)

    def __enter__(self) -> TrainingLog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.live.end()
