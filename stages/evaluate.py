"""Stage evaluate: score every snapshot of both models (the per-epoch curves) and both final
models over several draws, next to the real floor and the PCA-Gaussian bar: the headline
numbers (metrics/evaluate.json) and the report (every metric, per draw and summarised)."""

from __future__ import annotations

import os

# The face judges' processes work beside this one's torch threads: threads that spin while
# they wait would hold the judges' cores (read as facegen loads: docs/performance.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from collections.abc import Sequence
from pathlib import Path

from facegen import cli
from facegen.config import load_params
from facegen.io import csv_text, load_prepared, load_torch, write_bytes, write_json
from facegen.judge import evaluate_all
from facegen.models import ModelDir


def main(argv: Sequence[str] | None = None) -> None:
    parser = cli.parser(__doc__)
    parser.add_argument("--data", required=True, help="folder written by the prepare stage")
    parser.add_argument("--vae", required=True, help="folder written by train_vae")
    parser.add_argument("--gan", required=True, help="folder written by train_gan")
    parser.add_argument("--real-faces", required=True, help="the judgments written by real_faces")
    parser.add_argument("--metrics", required=True, help="the headline evaluate.json to write")
    parser.add_argument(
        "--tables", required=True, help="folder for {vae,gan}_quality.csv, draws.csv, report.json"
    )
    args = parser.parse_args(argv)
    config = load_params(args.params).evaluate
    faces, real = load_prepared(args.data), load_torch(args.real_faces)
    evaluation = evaluate_all(ModelDir(args.vae), ModelDir(args.gan), faces, config, real)
    tables = Path(args.tables)
    for name, rows in evaluation.curves.items():
        write_bytes(tables / f"{name}_quality.csv", csv_text(rows).encode())
    write_bytes(tables / "draws.csv", csv_text(evaluation.draws).encode())
    write_json(tables / "report.json", evaluation.report)
    write_json(args.metrics, evaluation.headline)
    for name, row in evaluation.headline.items():
        cli.log.info(
            "%-12s %s", name, "  ".join(f"{k} {v:g}" for k, v in row.items() if not k.endswith("_sd"))
        )


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
