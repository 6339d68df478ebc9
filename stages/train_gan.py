"""Stage train_gan: train the GAN; write the final checkpoint, a snapshot every
gan.snapshot_every epochs (and at the last epoch), and the per-epoch history. Killed, it resumes from its last
snapshot on the next run (see facegen.resume)."""

from __future__ import annotations

from collections.abc import Sequence

from facegen import cli
from facegen.checkpoints import ModelDir
from facegen.config import load_params
from facegen.data import load_prepared
from facegen.resume import Resume, code_digest, fingerprint, tensor_digest
from facegen.runtime import make_runtime
from facegen.train.gan import train_gan


def main(argv: Sequence[str] | None = None) -> None:
    parser = cli.parser(__doc__)
    parser.add_argument("--data", required=True, help="folder written by the prepare stage")
    parser.add_argument("--out", required=True, help="folder for checkpoint.pt, snapshots/, history.json")
    parser.add_argument("--resume", required=True, help="folder for the resume state (outside the outs)")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    config = params.gan
    train_images = load_prepared(args.data).train
    out = ModelDir(args.out)
    snapshot = out.snapshot_writer("gan", config)
    key = fingerprint(params=config, train=params.train, data=tensor_digest(train_images), code=code_digest())
    resume = Resume(args.resume, key, out.snapshots_path)
    model, history = train_gan(train_images, config, snapshot, params.train, resume)
    out.save_final("gan", model, history, config, make_runtime(config.device, params.train).describe())
    resume.clear()


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
