"""The whole pipeline rehearsed at CK size: a synthetic 50 000-face .mat in CK's exact layout
(`X`, uint8, 64 x 64 x 1 x 50 000, MAT v5, about 200 MB; ORL faces shifted, brightened and
noised as the training benchmark makes them), run through `dvc repro` stage by stage in a
temporary repository with few epochs, reporting each stage's wall time and peak resident
memory (the largest of the stage's process and its children, `dvc` included).

    python benchmarks/rehearse_ck.py                  # 1 epoch each, ~15 minutes on 2 cores
    python benchmarks/rehearse_ck.py --epochs 2 --keep /tmp/ck

Prints a markdown table and writes benchmarks/rehearsal.json (not in git).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from stage_timer import STAGES, make_repo, time_stage

HERE = Path(__file__).resolve().parent


def write_ck_mat(path: Path, n: int) -> None:
    from bench_training import synthetic_faces

    from facegen.demo import to_ck_layout
    from facegen.io import write_bytes
    from facegen.mat import mat_bytes

    faces = synthetic_faces(n)[:, 0].numpy()  # (n, 64, 64) uint8
    write_bytes(path, mat_bytes({"X": to_ck_layout(faces)}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--faces", type=int, default=50_000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=HERE / "rehearsal.json")
    args = parser.parse_args()
    repo = make_repo(
        args.keep or Path(tempfile.mkdtemp(prefix="facegen-ck-")),
        {
            "data": {"mat_path": "data/raw/ck_synthetic.mat"},
            "prepare": {"split": "blocks"},  # CK carries no person labels
            "vae": {"epochs": args.epochs, "snapshot_every": 1},
            "gan": {"epochs": args.epochs, "snapshot_every": 1},
        },
    )
    started = time.perf_counter()
    mat = repo / "data/raw/ck_synthetic.mat"
    mat.parent.mkdir(parents=True, exist_ok=True)
    write_ck_mat(mat, args.faces)
    print(
        f"wrote {mat} ({mat.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    rows = []
    for stage in STAGES:
        if stage == "demo_data":
            continue  # the CK file replaces the demo faces
        rows.append(time_stage(repo, stage))
        print(f"{stage:10s} {rows[-1]['seconds']:7.1f} s  peak {rows[-1]['peak_rss_mb']:5d} MB", flush=True)
    sizes = {
        name: sum(p.stat().st_size for p in (repo / "models" / name / "snapshots").glob("*.pt")) // 2**20
        for name in ("vae", "gan")
    }
    result = {"faces": args.faces, "epochs": args.epochs, "stages": rows, "snapshot_mb": sizes}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print("| stage | wall time | peak RSS |\n|---|---|---|")
    for row in rows:
        print(f"| `{row['stage']}` | {row['seconds']:.0f} s | {row['peak_rss_mb']} MB |")
    if not args.keep:
        shutil.rmtree(repo, ignore_errors=True)


if __name__ == "__main__":
    main()
