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
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STAGES = ("demo_data", "prepare", "train_vae", "train_gan", "render", "evaluate", "export")


def write_ck_mat(path: Path, n: int) -> None:
    sys.path.insert(0, str(HERE))
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
    repo = args.keep or Path(tempfile.mkdtemp(prefix="facegen-ck-"))
    repo.mkdir(parents=True, exist_ok=True)
    for name in ("stages", "src"):
        shutil.copytree(
            ROOT / name,
            repo / name,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
        )
    for name in ("dvc.yaml", ".gitignore", ".dvcignore"):
        shutil.copy(ROOT / name, repo / name)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"]["mat_path"] = "data/raw/ck_synthetic.mat"
    params["prepare"]["split"] = "blocks"  # CK carries no person labels
    for section in ("vae", "gan"):
        params[section] |= {"epochs": args.epochs, "snapshot_every": 1}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = os.environ | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
    }
    for command in (["git", "init", "-q"], [sys.executable, "-m", "dvc", "init", "-q"]):
        subprocess.run(command, cwd=repo, env=env, check=True)
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
        command = [
            "/usr/bin/time",
            "-f",
            "%M %e",
            sys.executable,
            "-m",
            "dvc",
            "repro",
            "--single-item",
            stage,
        ]
        run = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True)
        if run.returncode:
            sys.exit(f"{stage} failed:\n{run.stdout}\n{run.stderr}")
        peak_kb, seconds = run.stderr.strip().splitlines()[-1].split()
        rows.append({"stage": stage, "seconds": float(seconds), "peak_rss_mb": int(peak_kb) // 1024})
        print(f"{stage:10s} {float(seconds):7.1f} s  peak {int(peak_kb) // 1024:5d} MB", flush=True)
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
