"""Stage train_gan: train the GAN; write the final checkpoint, a snapshot every
gan.snapshot_every epochs (and at the last epoch), and the per-epoch history."""

from __future__ import annotations

from collections.abc import Sequence

from facegen import cli
from facegen.checkpoints import ModelDir
from facegen.config import load_params
from facegen.data import load_prepared
from facegen.train import train_gan


def main(argv: Sequence[str] | None = None) -> None:
    parser = cli.parser(__doc__)
    parser.add_argument("--data", required=True, help="folder written by the prepare stage")
    parser.add_argument("--out", required=True, help="folder for checkpoint.pt, snapshots/, history.json")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    config = params.gan
    train_images = load_prepared(args.data).train
    out = ModelDir(args.out)
    snapshot = out.snapshot_writer("gan", config)
    model, history = train_gan(train_images, config, snapshot, params.train)
    out.save_final("gan", model, history, config)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
