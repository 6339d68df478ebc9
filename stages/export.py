"""Stage export: turn each training stage's DVCLive log into its per-epoch loss table, for
`dvc plots` and the loss curves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from facegen import cli
from facegen.io import csv_text, read_training_log, write_bytes


def main(argv: Sequence[str] | None = None) -> None:
    parser = cli.parser(__doc__)
    parser.add_argument("--vae", required=True, help="the DVCLive folder written by train_vae")
    parser.add_argument("--gan", required=True, help="the DVCLive folder written by train_gan")
    parser.add_argument("--tables", required=True, help="folder for {vae,gan}_losses.csv")
    args = parser.parse_args(argv)
    tables = Path(args.tables)
    for kind in ("vae", "gan"):
        rows = read_training_log(getattr(args, kind))
        write_bytes(tables / f"{kind}_losses.csv", csv_text(rows).encode())
        cli.log.info("wrote %s: %d epochs", tables / f"{kind}_losses.csv", len(rows))


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
