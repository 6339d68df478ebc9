"""Stage real_faces: judge the real faces once per data set, as a person would see them:
which ones dlib's face detector finds, and the identity embeddings of the training faces
(the reference of identity_ratio) and the held-out people's; evaluate judges only the
faces it compares against this record."""

from __future__ import annotations

from collections.abc import Sequence

from facegen import cli
from facegen.io import load_prepared, save_torch
from facegen.judge import FaceJudges, judge_real


def main(argv: Sequence[str] | None = None) -> None:
    parser = cli.parser(__doc__)
    parser.add_argument("--data", required=True, help="folder written by the prepare stage")
    parser.add_argument("--out", required=True, help="the .pt file of the judgments to write")
    args = parser.parse_args(argv)
    faces = load_prepared(args.data)
    with FaceJudges() as judges:
        record = judge_real(faces, judges)
    save_torch(args.out, record)
    for part, judged in record.items():
        found, embedded = judged["detected"], judged["embeddings"]
        rate = found.float().mean().item()
        cli.log.info(
            "%s: the face detector finds %.2f of %d faces; %d embedded", part, rate, len(found), len(embedded)
        )


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
