"""Training beside other work, on the CPUs this machine gives, side by side in one run:

- the median epoch of the ``train_vae`` stage (the lab VAE on the 320 ORL training faces,
  batch 16) alone, beside a second such stage (both started together, as ``dvc queue start
  -j 2`` starts two experiments), and beside a plain torch process training the same model
  with torch's default threads (a user's other work, started first);
- for comparison, that plain torch process alone and beside a second one (what a stage did
  before it sized its threads to the CPUs others leave);
- ``--scenarios causes``: what makes two trainings collapse: the same training in plain torch
  (bf16 where the stage computes in bf16) with two threads each, spinning or sleeping while
  they wait, against one thread each;
- a sweep: two queued experiments (``vae.epochs`` VAE epochs each, then export, evaluate and
  render) from ``dvc queue start -j 1`` and ``-j 2`` to the last one done, in alternating
  order over ``--rounds``.

    python -m benchmarks.beside                      # about 10 minutes on 2 cores
    python -m benchmarks.beside --epochs 6 --queue-epochs 20 --rounds 2
    python -m benchmarks.beside --scenarios causes   # about 3 minutes
    ONEDNN_MAX_CPU_ISA=AVX2 python -m benchmarks.beside   # as on a CPU without AMX or bf16

Prints two markdown tables: seconds per epoch (median, min-max) and each scenario's ratio to
the same process alone; the sweep's seconds per round and -j 2 against -j 1.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# torch before anything of facegen (imported in the functions): the plain process keeps
# torch's defaults, as a user's own torch code does
import torch

from benchmarks.stage_timer import ROOT, environment, prepare_demo, sweeps

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


def start(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=environment() | (env or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


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
    return start(command, folder)


def plain(
    folder: Path, epochs: int, env: dict[str, str] | None = None, bf16: bool = False
) -> subprocess.Popen:
    """This script's :func:`plain_training` in a process of its own, with ``env`` (OpenMP's
    settings) added to its environment, in bf16 autocast where asked."""
    command = [sys.executable, "-m", "benchmarks.beside", "--plain", str(folder / "prepared")]
    return start([*command, "--epochs", str(epochs), *(["--bf16"] if bf16 else [])], ROOT, env)


def plain_training(prepared: Path, epochs: int, bf16: bool = False) -> None:
    """The lab VAE trained on the prepared faces with plain torch, default threads (in bf16
    autocast with ``bf16``, as the stage where the CPU does it natively), one line per epoch."""
    from facegen.io import load_prepared, to_float
    from facegen.models import VAE, vae_loss

    faces = to_float(load_prepared(prepared).train)
    model = VAE(64)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        for batch in faces[torch.randperm(len(faces))].split(16):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
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
    """Seconds per epoch of the measured process in each scenario."""
    results = {"stage alone": epoch_seconds(stage(folder, "a"))}
    first, second = stage(folder, "b"), stage(folder, "c")
    results["stage beside a second stage"] = epoch_seconds(first) + epoch_seconds(second)
    other = plain(folder, epochs + 6)  # started first, and outlasts the stage
    time.sleep(3)  # torch loaded and training
    results["stage beside plain torch"] = epoch_seconds(stage(folder, "d"))
    epoch_seconds(other)
    results["plain torch alone"] = epoch_seconds(plain(folder, epochs))
    first, second = plain(folder, epochs), plain(folder, epochs)
    results["plain torch beside plain torch"] = epoch_seconds(first) + epoch_seconds(second)
    return results


# What makes two trainings collapse: plain torch with its threads and wait policy set
CAUSES = {
    "2 threads each, spinning (torch's default)": {},
    "2 threads each, sleeping at once (OMP_WAIT_POLICY=PASSIVE)": {"OMP_WAIT_POLICY": "PASSIVE"},
    "1 thread each": {"OMP_NUM_THREADS": "1"},
}


def causes(folder: Path, epochs: int) -> dict[str, tuple[float, float]]:
    """Median seconds per epoch of plain torch alone and beside a second one like it, for
    each setting of :data:`CAUSES`, in the stage's precision (bf16 where the CPU has it)."""
    from facegen.runtime import native_bf16

    bf16 = native_bf16(torch.device("cpu"))
    results = {}
    for name, env in CAUSES.items():
        alone = statistics.median(epoch_seconds(plain(folder, epochs, env, bf16)))
        first, second = plain(folder, epochs, env, bf16), plain(folder, epochs, env, bf16)
        results[name] = (alone, statistics.median(epoch_seconds(first) + epoch_seconds(second)))
    return results


def causes_table(results: dict[str, tuple[float, float]]) -> str:
    lines = [
        "| the lab VAE in plain torch, as the stage computes | alone | beside a second | beside / alone |"
    ]
    lines.append("|---|---|---|---|")
    for name, (alone, beside) in results.items():
        lines.append(f"| {name} | {alone:.2f} | {beside:.2f} | {beside / alone:.2f}x |")
    return "\n".join(lines)


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


def sweep_table(results: dict[int, list[float]], epochs: int) -> str:
    """Markdown: the sweep's seconds per round with each worker count, and -j 2 against -j 1."""
    one, two = statistics.median(results[1]), statistics.median(results[2])
    lines = [
        f"| two queued experiments ({epochs} VAE epochs, export, evaluate, render) | seconds | of -j 1 |"
    ]
    lines += ["|---|---|---|"]
    lines += [
        f"| `dvc queue start -j {j}` | {', '.join(f'{s:.0f}' for s in results[j])} | {statistics.median(results[j]) / one:.2f}x |"
        for j in (1, 2)
    ]
    return "\n".join(lines) + f"\n\n-j 2 finishes in {two / one:.0%} of the time -j 1 takes."


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=8, help="epochs per process (the first is not counted)")
    parser.add_argument("--queue-epochs", type=int, default=20, help="VAE epochs of each queued experiment")
    parser.add_argument("--rounds", type=int, default=1, help="sweeps with -j 1 and -j 2 each")
    parser.add_argument(
        "--scenarios",
        nargs="+",
        choices=("epochs", "causes", "sweep"),
        default=["epochs", "sweep"],
        help="epochs: a stage beside other work; causes: threads and wait policy; sweep: -j 1 against -j 2",
    )
    parser.add_argument("--bf16", action="store_true", help=argparse.SUPPRESS)  # of --plain
    parser.add_argument("--plain", type=Path, help=argparse.SUPPRESS)  # run plain_training on these faces
    args = parser.parse_args()
    if args.plain:
        plain_training(args.plain, args.epochs, args.bf16)
        return
    from facegen.process import available_cpus

    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "all the CPU has")
    print(f"{available_cpus()} CPUs; torch {torch.__version__}; oneDNN instructions: {isa}", flush=True)
    with tempfile.TemporaryDirectory(prefix="facegen-beside-") as folder:
        prepare(Path(folder), args.epochs)
        if "epochs" in args.scenarios:
            print(table(scenarios(Path(folder), args.epochs)), flush=True)
        if "causes" in args.scenarios:
            print(causes_table(causes(Path(folder), args.epochs)), flush=True)
        if "sweep" in args.scenarios:
            print(sweep_table(sweeps(Path(folder), args.queue_epochs, args.rounds), args.queue_epochs))


if __name__ == "__main__":
    main()
