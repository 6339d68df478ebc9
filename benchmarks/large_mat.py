"""`prepare` on a large real file: a MATLAB v7.3 (HDF5) `.mat` of N synthetic faces in CK's
layout (default 1 000 000: 4.1 GB), written chunk by chunk, then `stages/prepare.py` on it
under /usr/bin/time: its wall time and peak resident memory, next to what `prepare`
estimated it would need before reading (`facegen.data.prepare.peak_memory`).

    python -m benchmarks.large_mat                    # needs ~9 GB of disk and ~9 GB of memory
    python -m benchmarks.large_mat --faces 200000 --keep /tmp/large
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def write_v73(path: Path, n: int, chunk: int = 50_000) -> None:
    """``X``: uint8, MATLAB shape 64 x 64 x 1 x n, as MATLAB saves it (HDF5 behind a 512-byte
    header, axes reversed), filled ``chunk`` faces at a time from the ORL faces."""
    import h5py
    import numpy as np

    from benchmarks.bench_training import synthetic_faces

    faces = synthetic_faces(chunk).numpy()  # (chunk, 1, 64, 64): stored as is, axes reversed
    with h5py.File(path, "w", userblock_size=512) as f:
        dataset = f.create_dataset("X", shape=(n, 1, 64, 64), dtype=np.uint8, chunks=(1024, 1, 64, 64))
        dataset.attrs["MATLAB_class"] = np.bytes_("uint8")
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            dataset[start:stop] = np.roll(faces[: stop - start], start // chunk, axis=0)
    with open(path, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, written by benchmarks/large_mat.py".ljust(116))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--faces", type=int, default=1_000_000)
    parser.add_argument(
        "--keep", type=Path, help="work in this folder and keep it (default: a temporary one)"
    )
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="facegen-large-"))
    folder.mkdir(parents=True, exist_ok=True)
    mat = folder / "large.mat"
    write_v73(mat, args.faces)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"]["mat_path"] = str(mat)
    params["prepare"]["split"] = "blocks"
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    from facegen.data.mat import find_images
    from facegen.data.prepare import peak_memory

    estimate = peak_memory(find_images(mat))
    command = ["/usr/bin/time", "-f", "%M %e", sys.executable, str(ROOT / "stages" / "prepare.py")]
    command += ["--params", str(folder / "params.yaml"), "--out", str(folder / "prepared")]
    run = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    if run.returncode:
        sys.exit(run.stderr)
    peak_kb, seconds = run.stderr.strip().splitlines()[-1].split()
    print(
        f"{args.faces} faces, {mat.stat().st_size / 1e9:.2f} GB: prepare {float(seconds):.0f} s, "
        f"peak RSS {int(peak_kb) / 2**20:.2f} GiB, estimated before reading {estimate / 2**30:.2f} GiB"
    )
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
