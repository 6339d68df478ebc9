"""Stage export: summarise the training histories as metrics files for `dvc metrics`, and
as per-epoch loss tables for `dvc plots`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from facegen import cli
from facegen.io import csv_text, read_json, write_bytes, write_json
from facegen.metrics import summarize_gan, summarize_vae


def main(argv: Sequence[str] | None = None) -> None:
    parser = cli.parser(__doc__)
    parser.add_argument("--vae", required=True, help="the history.json written by train_vae")
    parser.add_argument("--gan", required=True, help="the history.json written by train_gan")
    parser.add_argument("--metrics", required=True, help="metrics folder; writes vae.json and gan.json")
    parser.add_argument("--tables", required=True, help="folder for {vae,gan}_losses.csv")
    args = parser.parse_args(argv)
    metrics, tables = Path(args.metrics), Path(args.tables)
    for kind, summarize in (("vae", summarize_vae), ("gan", summarize_gan)):
        history = read_json(getattr(args, kind))
        write_json(metrics / f"{kind}.json", summarize(history))
        write_bytes(tables / f"{kind}_losses.csv", csv_text(history).encode())
    cli.log.info("wrote %s/{vae,gan}.json and %s/{vae,gan}_losses.csv", metrics, tables)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
