"""Stage export: summarise the training histories as metrics files for `dvc metrics`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from facegen import cli
from facegen.io import read_json, write_json
from facegen.metrics import summarize_gan, summarize_vae


def main(argv: Sequence[str] | None = None) -> None:
    parser = cli.parser(__doc__)
    parser.add_argument("--vae", required=True, help="folder written by train_vae")
    parser.add_argument("--gan", required=True, help="folder written by train_gan")
    parser.add_argument("--out", required=True, help="metrics folder; writes vae.json and gan.json")
    args = parser.parse_args(argv)
    out = Path(args.out)
    write_json(out / "vae.json", summarize_vae(read_json(Path(args.vae) / "history.json")))
    write_json(out / "gan.json", summarize_gan(read_json(Path(args.gan) / "history.json")))
    cli.log.info("wrote %s and %s", out / "vae.json", out / "gan.json")


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
