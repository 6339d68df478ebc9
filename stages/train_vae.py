"""Stage train_vae: train the VAE; write the final checkpoint, a snapshot every
render.every epochs (and at the last epoch), and the per-epoch history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from facegen import cli
from facegen.config import load_params
from facegen.data import load_prepared
from facegen.io import save_torch, write_json
from facegen.models import checkpoint
from facegen.train import snapshot_writer, train_vae


def main(argv: Sequence[str] | None = None) -> None:
    parser = cli.parser(__doc__)
    parser.add_argument("--data", required=True, help="folder written by the prepare stage")
    parser.add_argument("--out", required=True, help="folder for checkpoint.pt, snapshots/, history.json")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    config = params.vae
    train_images, val_images = load_prepared(args.data)
    out = Path(args.out)
    snapshot = snapshot_writer(out / "snapshots", "vae", config)
    model, history = train_vae(train_images, val_images, config, params.render.every, snapshot, params.train)
    save_torch(out / "checkpoint.pt", checkpoint("vae", model, len(history), asdict(config)))
    write_json(out / "history.json", history)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
