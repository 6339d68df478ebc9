"""A training stage beside other work, on the CPUs this machine gives: the median epoch of the
``train_vae`` stage (the lab VAE on the 320 ORL training faces, batch 16) alone, beside a
second such stage (what ``dvc queue start -j 2`` runs), and beside a plain torch process
training the same model with torch's default threads (a user's other work); and, for
comparison, that plain process alone and beside a second one (what the stage did before
facegen set its threads: OpenMP threads that spin while they wait).

    python -m benchmarks.beside                 # about 4 minutes on 2 cores
    python -m benchmarks.beside --epochs 6

Prints a markdown table of seconds per epoch (median, min-max) and each scenario's ratio to
the same process alone.
"""

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# torch before anything of facegen (imported in the functions): the plain process loads
# OpenMP with torch's defaults, as a user's own torch code does
import torch

from benchmarks.stage_timer import ROOT, environment, prepare_demo

EPOCH = re.compile(r"epoch +\d+/\d+\b.*?([\d.]+)s$")


def prepare(folder: Path, epochs: int) -> None:
    """The ORL demo's prepared faces and a params.yaml of ``epochs`` VAE epochs in ``folder``."""
    import yaml

    from facegen.config import load_params
    from facegen.io import save_prepared

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"]["mat_path"] = str(folder / "orl.mat")  # where prepare_demo writes it
    params["vae"] |= {"epochs": epochs, "snapshot_every": epochs}
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    save_prepared(folder / "prepared", *prepare_demo(folder, load_params(folder / "params.yaml")))


def stage(folder: Path, name: str) -> subprocess.Popen:
    """``stages/train.py vae`` as DVC runs it, logging one line per epoch."""
    command = [
        sys.executable,
        str(ROOT / "stages" / "train.py"),
        "vae",
        "--params",
        str(folder / "params.yaml"),
    ]
    command += [
        "--data",
        str(folder / "prepared"),
        "--out",
        str(folder / name),
        "--resume",
        str(folder / f"r_{name}"),
    ]
    return subprocess.Popen(
        command, cwd=folder, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def plain(folder: Path, epochs: int) -> subprocess.Popen:
    """This script's :func:`plain_training` in a process of its own."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.beside",
        "--plain",
        str(folder / "prepared"),
        "--epochs",
        str(epochs),
    ]
    return subprocess.Popen(
        command, cwd=ROOT, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def plain_training(prepared: Path, epochs: int) -> None:
    """The lab VAE trained on the prepared faces with plain torch, default threads (torch was
    loaded before facegen, so OpenMP kept its defaults), one line per epoch."""
    from facegen.io import load_prepared, to_float
    from facegen.models import VAE
    from facegen.train.losses import vae_loss

    faces = to_float(load_prepared(prepared).train)
    model = VAE(64)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        for batch in faces[torch.randperm(len(faces))].split(16):
            x_hat, mu, logvar = model(batch)
            loss = vae_loss(batch, x_hat, mu, logvar, 1.0)[0]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"plain epoch {epoch:3d}/{epochs} {time.perf_counter() - started:.2f}s", flush=True)


def epoch_seconds(process: subprocess.Popen) -> list[float]:
    """The seconds of every epoch a process logged, once it ends (its first is warm-up: dropped)."""
    output, _ = process.communicate()
    if process.returncode:
        sys.exit(output)
    seconds = [float(m.group(1)) for line in output.splitlines() if (m := EPOCH.search(line.strip()))]
    return seconds[1:]


def scenarios(folder: Path, epochs: int) -> dict[str, list[float]]:
    """Seconds per epoch of the measured process in each scenario (both processes start together)."""
    results = {}
    results["stage alone"] = epoch_seconds(stage(folder, "a"))
    first, second = stage(folder, "b"), stage(folder, "c")
    results["stage beside a second stage"] = epoch_seconds(first) + epoch_seconds(second)
    measured, other = stage(folder, "d"), plain(folder, epochs + 4)  # the other outlasts it
    results["stage beside plain torch"] = epoch_seconds(measured)
    epoch_seconds(other)
    results["plain torch alone"] = epoch_seconds(plain(folder, epochs))
    first, second = plain(folder, epochs), plain(folder, epochs)
    results["plain torch beside plain torch"] = epoch_seconds(first) + epoch_seconds(second)
    return results


def table(results: dict[str, list[float]]) -> str:
    """Markdown: median and range of each scenario's epochs, and its ratio to the same process alone."""
    lines = ["| scenario | seconds per epoch, median (min-max) | beside / alone |", "|---|---|---|"]
    for name, seconds in results.items():
        alone = statistics.median(results["plain torch alone" if name.startswith("plain") else "stage alone"])
        median = statistics.median(seconds)
        lines.append(
            f"| {name} | {median:.2f} ({min(seconds):.2f}-{max(seconds):.2f}) | {median / alone:.2f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=8, help="epochs per process (the first is not counted)")
    parser.add_argument("--plain", type=Path, help=argparse.SUPPRESS)  # run plain_training on these faces
    args = parser.parse_args()
    if args.plain:
        plain_training(args.plain, args.epochs)
        return
    with tempfile.TemporaryDirectory(prefix="facegen-beside-") as folder:
        prepare(Path(folder), args.epochs)
        from facegen.process import available_cpus

        print(f"{available_cpus()} CPUs for this process; torch {torch.__version__}", flush=True)
        print(table(scenarios(Path(folder), args.epochs)))


if __name__ == "__main__":
    main()
