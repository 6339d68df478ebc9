"""Stage render: from the training snapshots and the tables of export and evaluate, draw
interpolation walks, fixed-z samples, VAE reconstructions, animated walks, the loss curves
and the comparison of both models with real faces."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from facegen import cli
from facegen.config import load_params
from facegen.io import load_prepared, write_bytes
from facegen.models import ModelDir
from facegen.render import render_all


def main(argv: Sequence[str] | None = None) -> None:
    parser = cli.parser(__doc__)
    parser.add_argument("--data", required=True, help="folder written by the prepare stage")
    parser.add_argument("--vae", required=True, help="folder written by train_vae")
    parser.add_argument("--gan", required=True, help="folder written by train_gan")
    parser.add_argument(
        "--tables", required=True, help="folder of the loss and quality tables and report.json"
    )
    parser.add_argument("--out", required=True, help="plots folder; writes its vae/, gan/ and compare/")
    args = parser.parse_args(argv)
    config = load_params(args.params).render
    out = Path(args.out)
    for kind in ("vae", "gan"):
        shutil.rmtree(out / kind, ignore_errors=True)  # no stale epochs from an earlier run
    models = {"vae": ModelDir(args.vae), "gan": ModelDir(args.gan)}
    files = render_all(models, load_prepared(args.data), args.tables, config)
    written = 0
    for relative, payload in tqdm(files, desc="render", unit="file", disable=None):
        write_bytes(out / relative, payload)
        written += 1
    cli.log.info("wrote %d files under %s", written, out)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
