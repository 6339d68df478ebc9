"""Stage prepare: read the .mat named by data.mat_path, validate it, and write uint8
train, validation and test tensors plus a record of the source (meta.json)."""

from __future__ import annotations

from collections.abc import Sequence

from facegen import cli
from facegen.config import load_params
from facegen.data import prepare_images
from facegen.io import save_prepared


def main(argv: Sequence[str] | None = None) -> None:
    parser = cli.parser(__doc__)
    parser.add_argument("--out", required=True, help="folder for train.npy, val.npy, test.npy, meta.json")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    parts, meta = prepare_images(params.data, params.prepare)
    save_prepared(args.out, parts, meta)
    cli.log.info("wrote %s: %s", args.out, ", ".join(f"{k} {v.shape}" for k, v in parts.items()))


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
