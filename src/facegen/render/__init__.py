"""Pictures of what the models learned, from the training snapshots and the tables the
``export`` and ``evaluate`` stages write: per snapshot walks, samples and reconstructions
(:mod:`~facegen.render.snapshots`), the last walks as GIFs, each model's loss curves and the
comparison of both models with real faces (:mod:`~facegen.render.figures`). Pure functions
from models and tables to encoded bytes; the render stage writes them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from facegen.config import RenderConfig
from facegen.io import Faces, read_csv, read_json
from facegen.models import ModelDir, load_checkpoint
from facegen.render.figures import LOSS_PANELS, comparison_figure, loss_curves_png
from facegen.render.snapshots import render_snapshots
from facegen.render.walks import chosen_faces, lerp, slerp, walk_frames, walks
from facegen.runtime import CPU, share_cpus

COMPARISON = "compare/vae_vs_gan.png"

__all__ = ["COMPARISON", "chosen_faces", "lerp", "render_all", "slerp", "walk_frames", "walks"]


def render_all(
    models: dict[str, ModelDir], faces: Faces, tables: str | os.PathLike, config: RenderConfig
) -> Iterator[tuple[str, bytes]]:
    """Everything the render stage writes, as (path relative to the plots folder, bytes):
    ``models`` {"vae": ..., "gan": ...}; ``tables``: the folder of the loss and quality tables
    and the evaluation report. Torch computes on the CPUs no other work holds as it starts."""
    share_cpus()
    tables = Path(tables)
    for kind, model_dir in models.items():
        yield from render_snapshots(kind, model_dir, faces.val, config)
        rows = read_csv(tables / f"{kind}_losses.csv")
        yield f"{kind}/losses.png", loss_curves_png(rows, LOSS_PANELS[kind], f"{kind.upper()} training")
    final = {kind: CPU.place(load_checkpoint(d.checkpoint_path)) for kind, d in models.items()}
    curves = {kind: read_csv(tables / f"{kind}_quality.csv") for kind in models}
    real = faces.train[chosen_faces(len(faces.train), 16, config.seed)].float() / 255
    figure = comparison_figure(
        real, final["vae"], final["gan"], curves, read_json(tables / "report.json"), config.seed
    )
    yield COMPARISON, figure
