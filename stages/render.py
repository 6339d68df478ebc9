"""Stage render: from the training snapshots, draw interpolation walks, fixed-z samples,
VAE reconstructions, animated walks, and the loss tables and curves."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from facegen import cli
from facegen.checkpoints import ModelDir
from facegen.config import load_params
from facegen.data import load_prepared
from facegen.io import write_bytes
from facegen.render import render_all


def main(argv: Sequence[str] | None = None) -> None:
    parser = cli.parser(__doc__)
    parser.add_argument("--data", required=True, help="folder written by the prepare stage")
    parser.add_argument("--vae", required=True, help="folder written by train_vae")
    parser.add_argument("--gan", required=True, help="folder written by train_gan")
    parser.add_argument("--out", required=True, help="plots folder; writes its vae/ and gan/")
    args = parser.parse_args(argv)
    config = load_params(args.params).render
    val_images = load_prepared(args.data).val
    out = Path(args.out)
    for kind in ("vae", "gan"):
        shutil.rmtree(out / kind, ignore_errors=True)  # no stale epochs from an earlier run
    written = 0
    for relative, payload in tqdm(
        render_all(ModelDir(args.vae), ModelDir(args.gan), val_images, config),
        desc="render",
        unit="file",
        disable=None,
    ):
        write_bytes(out / relative, payload)
        written += 1
    cli.log.info("wrote %d files under %s/vae and %s/gan", written, out, out)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
