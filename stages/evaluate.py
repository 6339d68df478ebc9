"""Stage evaluate: score every snapshot of both models, and their last over several draws
(sliced Wasserstein distance, precision/recall, classifier two-sample test, brightness,
memorisation, the share of faces a face detector finds, identity memorisation, VAE ELBO),
next to real-versus-real and PCA-Gaussian baselines; draw the VAE-versus-GAN comparison."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from facegen import cli
from facegen.checkpoints import ModelDir
from facegen.config import load_params
from facegen.data import load_prepared
from facegen.evaluate import evaluate_all
from facegen.io import csv_text, write_bytes, write_json


def main(argv: Sequence[str] | None = None) -> None:
    parser = cli.parser(__doc__)
    parser.add_argument("--data", required=True, help="folder written by the prepare stage")
    parser.add_argument("--vae", required=True, help="folder written by train_vae")
    parser.add_argument("--gan", required=True, help="folder written by train_gan")
    parser.add_argument("--real-faces", required=True, help="the judgments written by real_faces")
    parser.add_argument("--metrics", required=True, help="the evaluate.json to write")
    parser.add_argument("--figure", required=True, help="the VAE-versus-GAN PNG to write")
    parser.add_argument("--tables", required=True, help="folder for {vae,gan}_quality.csv")
    args = parser.parse_args(argv)
    config = load_params(args.params).evaluate
    real_faces = torch.load(args.real_faces, weights_only=True)
    summary, vae_rows, gan_rows, figure = evaluate_all(
        ModelDir(args.vae), ModelDir(args.gan), load_prepared(args.data), config, real_faces, cli.log.info
    )
    tables = Path(args.tables)
    write_bytes(tables / "vae_quality.csv", csv_text(vae_rows).encode())
    write_bytes(tables / "gan_quality.csv", csv_text(gan_rows).encode())
    write_bytes(args.figure, figure)
    write_json(args.metrics, summary)
    for name, row in [("VAE", summary["vae"]), ("GAN", summary["gan"]), *summary["baselines"].items()]:
        cli.log.info("%-12s swd %6.1f ± %5.1f  c2st %.3f ± %.3f  precision %.2f  recall %.2f",
                     name, row["swd"], row["swd_sd"], row["c2st"], row["c2st_sd"], row["precision"],
                     row["recall"])  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
