"""Stage train_vae / train_gan: train the model named first (vae or gan) as its params
section says; write a snapshot every snapshot_every epochs (and at the last), DVCLive's log
of every epoch (live in `dvc exp show`), and the final checkpoint. Killed, it resumes from
its last snapshot on the next run (see facegen.train.resume)."""

from __future__ import annotations

from collections.abc import Sequence

from facegen import cli
from facegen.config import load_params
from facegen.io import load_prepared
from facegen.models import ModelDir
from facegen.train import KINDS, train_model


def main(argv: Sequence[str] | None = None) -> None:
    parser = cli.parser(__doc__)
    parser.add_argument("model", choices=KINDS, help="which model to train")
    parser.add_argument("--data", required=True, help="folder written by the prepare stage")
    parser.add_argument("--out", required=True, help="folder for checkpoint.pt, snapshots/, live/")
    parser.add_argument("--resume", required=True, help="folder for the resume state (outside the outs)")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    train_model(args.model, load_prepared(args.data), params, ModelDir(args.out), args.resume)
    cli.log.info("wrote %s", args.out)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
