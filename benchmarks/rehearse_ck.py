"""The whole pipeline rehearsed at CK size: a synthetic 50 000-face .mat in CK's exact layout
(`X`, uint8, 64 x 64 x 1 x 50 000, MAT v5, about 200 MB; ORL faces shifted, brightened and
noised as the training benchmark makes them), run through `dvc repro` stage by stage in a
temporary repository, reporting each stage's wall time and peak resident memory (the
largest of the stage's process and its children, `dvc` included).

It runs the README's CK command: the settings in ``CK_SETTINGS`` (a test checks that the
README's command is exactly these), or with ``--architecture dcgan`` its dcgan command
(``CK_DCGAN_SETTINGS``), with ``--epochs`` to run fewer epochs of each model.

    python -m benchmarks.rehearse_ck --epochs 1       # 1 epoch each: the time per epoch, ~12 min
    python -m benchmarks.rehearse_ck                  # the whole CK run: 73 min on 2 cores
    python -m benchmarks.rehearse_ck --keep /tmp/ck   # keep the repository to look at its pictures
    python -m benchmarks.rehearse_ck --architecture dcgan --epochs 1   # the README's dcgan CK command

Prints a markdown table and writes benchmarks/rehearsal.json (not in git).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.architectures import DCGAN_SETTINGS
from benchmarks.stage_timer import STAGES, exp_command, make_repo, time_stage
from facegen.io import read_training_log

HERE = Path(__file__).resolve().parent
CK_MAT = "data/raw/face_ims_64x64.mat"
# The README's command for the real CK file (50 000 faces), section by section: the faces
# split in blocks (CK carries no person labels), 10 epochs of batch 64 for each model (a
# 40 000-face epoch at batch 64 is 625 steps; the ORL default's 120 GAN epochs of batch 16
# are 2 400), and a snapshot per epoch.
CK_SETTINGS: dict[str, dict[str, Any]] = {
    "data": {"mat_path": CK_MAT},
    "prepare": {"split": "blocks"},
    "vae": {"epochs": 10, "batch_size": 64, "snapshot_every": 1},
    "gan": {"epochs": 10, "batch_size": 64, "snapshot_every": 1},
}
# The dcgan pair at CK size (docs/models.md#the-dcgan-pair-at-ck-size says why each): the CK
# command, and the demo's dcgan settings (benchmarks/architectures.py) except what depends on
# the data's size: the GAN trains twice the lab's CK epochs, 12 500 steps of 64 faces, and the
# VAE's prior has 512 components (chosen on FER2013's 28 709 training faces: 32 covered
# fewer kinds of face, recall 0.60 against the lab VAE's 0.73).
CK_DCGAN_SIZED = {"vae": {"epochs": 10, "prior_components": 512}, "gan": {"epochs": 20}}
CK_DCGAN_SETTINGS: dict[str, dict[str, Any]] = {
    section: values
    | {k: v for k, v in DCGAN_SETTINGS.get(section, {}).items() if k not in ("epochs", "snapshot_every")}
    | CK_DCGAN_SIZED.get(section, {})
    for section, values in CK_SETTINGS.items()
}
CK_COMMANDS = {"lab": CK_SETTINGS, "dcgan": CK_DCGAN_SETTINGS}  # by --architecture


def ck_command(name: str = "ck", architecture: str = "lab") -> str:
    """The `dvc exp run` command that trains on CK with ``architecture``'s settings."""
    return exp_command(name, CK_COMMANDS[architecture])


def write_ck_mat(path: Path, n: int) -> None:
    from benchmarks.bench_training import synthetic_faces
    from facegen.data import mat_bytes, to_ck_layout
    from facegen.io import write_bytes

    faces = synthetic_faces(n)[:, 0].numpy()  # (n, 64, 64) uint8
    write_bytes(path, mat_bytes({"X": to_ck_layout(faces)}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--faces", type=int, default=50_000)
    parser.add_argument(
        "--architecture", choices=tuple(CK_COMMANDS), default="lab", help="the CK command or its dcgan one"
    )
    parser.add_argument("--epochs", type=int, help="epochs of each model (default: CK_SETTINGS')")
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=HERE / "rehearsal.json")
    args = parser.parse_args()
    settings = {section: dict(values) for section, values in CK_COMMANDS[args.architecture].items()}
    if args.epochs:
        for model in ("vae", "gan"):
            settings[model]["epochs"] = args.epochs
    repo = make_repo(args.keep or Path(tempfile.mkdtemp(prefix="facegen-ck-")), settings)
    started = time.perf_counter()
    mat = repo / CK_MAT
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
    for model in ("vae", "gan"):  # the training stages' own per-epoch times
        epochs = len(read_training_log(repo / "models" / model / "live"))
        stage = next(row for row in rows if row["stage"] == f"train_{model}")
        stage["epochs"] = epochs
        stage["seconds_per_epoch"] = stage["seconds"] / epochs
    sizes = {  # what the training stages leave in DVC's cache
        name: sum(p.stat().st_size for p in (repo / "models" / name).rglob("*") if p.is_file()) / 2**20
        for name in ("vae", "gan")
    }
    total = sum(row["seconds"] for row in rows)
    result = {
        "faces": args.faces,
        "settings": settings,
        "stages": rows,
        "total_s": total,
        "model_mb": sizes,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print("| stage | wall time | peak RSS |\n|---|---|---|")
    for row in rows:
        per_epoch = f" ({row['seconds_per_epoch']:.0f} s per epoch)" if "epochs" in row else ""
        print(f"| `{row['stage']}` | {row['seconds']:.0f} s{per_epoch} | {row['peak_rss_mb']} MB |")
    print(f"| all | {total / 60:.0f} min | |")
    if not args.keep:
        shutil.rmtree(repo, ignore_errors=True)


if __name__ == "__main__":
    main()
