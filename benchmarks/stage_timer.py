"""The pipeline in a temporary repository, one stage at a time, timed: what the CK rehearsal,
the whole-pipeline precision figure of bench_training.py and the architectures' comparison
run; and a sweep of queued experiments in one, timed with one and two workers (beside.py)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # facegen is imported where it is used: importing it sets torch's threads
    from facegen.config import Params

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("demo_data", "prepare", "real_faces", "train_vae", "train_gan", "export", "evaluate", "render")


def environment() -> dict[str, str]:
    """The environment of every command run in a temporary repository. PATH: dvc runs the
    stages' `python`, which must be this interpreter even from an unactivated venv. No (G)OMP_*
    of this process: each stage sizes its own threads, as a user's does.
    A fixed git identity, so commits work on a machine without one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}
    return env | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        "PYTHONHASHSEED": "0",
        "GIT_AUTHOR_NAME": "facegen",
        "GIT_AUTHOR_EMAIL": "facegen@facegen.invalid",
        "GIT_COMMITTER_NAME": "facegen",
        "GIT_COMMITTER_EMAIL": "facegen@facegen.invalid",
    }


def prepare_demo(folder: Path, params: Params) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ORL demo faces written to ``folder``/orl.mat and prepared from it as the prepare
    stage does with ``params``' data and prepare sections: the parts and their record."""
    from facegen.data import mat_bytes, orl_faces, prepare_images, to_ck_layout

    mat = folder / "orl.mat"
    mat.write_bytes(mat_bytes({"X": to_ck_layout(orl_faces())}))
    return prepare_images(dataclasses.replace(params.data, mat_path=str(mat)), params.prepare)


def exp_command(name: str, settings: dict[str, dict[str, Any]]) -> str:
    """The `dvc exp run` command that runs the pipeline with ``settings`` ({"gan": {"lr": ...}})."""

    def value(v: Any) -> str:
        return str(v).lower() if isinstance(v, bool) else str(v)  # YAML's true / false

    flags = [
        f"-S {section}.{key}={value(v)}" for section, values in settings.items() for key, v in values.items()
    ]
    return f"dvc exp run -n {name} " + " ".join(flags)


def make_repo(
    repo: Path, params: dict[str, dict[str, Any]], files: dict[str, bytes] | None = None, source: Path = ROOT
) -> Path:
    """A fresh git + DVC repository at ``repo`` holding the pipeline of ``source`` (this
    checkout), with params.yaml's sections updated by ``params`` ({"gan": {"epochs": 1}, ...})
    and ``files`` written (path -> bytes), all committed: a clone, as a user has it (DVCLive,
    the training log, reads the HEAD commit)."""
    repo.mkdir(parents=True, exist_ok=True)
    for name in ("stages", "src"):
        shutil.copytree(
            source / name,
            repo / name,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
        )
    for name in ("dvc.yaml", ".gitignore", ".dvcignore"):
        shutil.copy(source / name, repo / name)
    merged = yaml.safe_load((source / "params.yaml").read_text())
    for section, values in params.items():
        merged[section] |= values
    (repo / "params.yaml").write_text(yaml.safe_dump(merged, sort_keys=False))
    for path, data in (files or {}).items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_bytes(data)
    for command in (
        ["git", "init", "-q"],
        [sys.executable, "-m", "dvc", "init", "-q"],
        [sys.executable, "-m", "dvc", "config", "core.analytics", "false"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "pipeline"],
    ):
        subprocess.run(command, cwd=repo, env=environment(), check=True, capture_output=True)
    return repo


def time_stage(
    repo: Path, stage: str, force: bool = False, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """`dvc repro --single-item <stage>` (``force``: run it even if nothing changed) under
    /usr/bin/time: wall seconds and the peak resident memory of the largest of dvc and the
    stage's processes. ``env``: the commands' environment (default :func:`environment`)."""
    command = ["/usr/bin/time", "-f", "%M %e", sys.executable, "-m", "dvc", "repro", "--single-item", stage]
    command += ["--force"] if force else []
    run = subprocess.run(command, cwd=repo, env=env or environment(), capture_output=True, text=True)
    if run.returncode:
        sys.exit(f"{stage} failed in {repo}:\n{run.stdout}\n{run.stderr}")
    peak_kb, seconds = run.stderr.strip().splitlines()[-1].split()
    return {"stage": stage, "seconds": float(seconds), "peak_rss_mb": int(peak_kb) // 1024}


def time_pipeline(variants: dict[str, dict[str, dict[str, Any]]], folder: Path) -> list[dict[str, Any]]:
    """`dvc repro` from scratch once per variant (its params.yaml updates), each in its own
    repository under ``folder``; stage by stage, the variants alternating, so drift in machine
    speed hits all alike. One row per stage and variant (seconds, peak RSS)."""
    repos = {name: make_repo(folder / name, params) for name, params in variants.items()}
    rows = []
    for stage in STAGES:
        for name, repo in repos.items():
            rows.append({"variant": name, **time_stage(repo, stage)})
            print(f"pipeline {name:6s} {stage:10s} {rows[-1]['seconds']:6.1f} s", flush=True)
    return rows


def pipeline_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: one line per stage, one column per variant, the total, and each variant's
    total as a fraction of the first's."""
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    seconds = {(r["stage"], r["variant"]): r["seconds"] for r in rows}
    stages = list(dict.fromkeys(r["stage"] for r in rows))
    totals = {v: sum(seconds[(s, v)] for s in stages) for v in variants}
    lines = [
        "| stage | " + " | ".join(f"`{v}`" for v in variants) + " |",
        "|---" * (len(variants) + 1) + "|",
    ]
    lines += [f"| `{s}` | " + " | ".join(f"{seconds[(s, v)]:.0f} s" for v in variants) + " |" for s in stages]
    lines.append("| total | " + " | ".join(f"{totals[v]:.0f} s" for v in variants) + " |")
    base = totals[variants[0]]
    lines.append("| of the first | " + " | ".join(f"{totals[v] / base:.0%}" for v in variants) + " |")
    return "\n".join(lines)


def time_dvc() -> dict:
    """No-op `dvc repro` (everything cached), and `dvc repro` after a render.* change, on the
    default pipeline in this checkout (run `dvc repro` once first)."""

    def repro(*options: str) -> float:
        started = time.perf_counter()
        command = [sys.executable, "-m", "dvc", "repro", *options]
        run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=environment())
        if run.returncode:
            sys.exit(f"dvc repro failed (exit {run.returncode}):\n{run.stdout}{run.stderr}")
        return time.perf_counter() - started

    noop = statistics.median(repro() for _ in range(3))
    params_path = ROOT / "params.yaml"
    original = params_path.read_text()
    params = yaml.safe_load(original)
    try:
        params["render"]["steps"] = params["render"]["steps"] + 1
        params_path.write_text(yaml.safe_dump(params, sort_keys=False))
        render_change = repro("--no-run-cache")  # really rerun, even if this value ran before
    finally:
        params_path.write_text(original)
    repro()  # back to the committed outputs (restored from the run cache)
    return {"noop_repro_s": noop, "render_change_repro_s": render_change}


def add_dvc_timings(results: dict, out: Path) -> None:
    """The pipeline's own figures (``--dvc``): no-op and render-only `dvc repro` here, and the
    whole default pipeline from scratch, train.precision fp32 against auto."""
    results["dvc"] = time_dvc()
    print(
        f"dvc repro: no-op {results['dvc']['noop_repro_s']:.2f} s, "
        f"after a render.* change {results['dvc']['render_change_repro_s']:.1f} s"
    )
    out.write_text(json.dumps(results, indent=2) + "\n")
    with tempfile.TemporaryDirectory(prefix="facegen-bench-") as folder:
        precisions = {p: {"train": {"precision": p}} for p in ("fp32", "auto")}
        results["pipeline"] = time_pipeline(precisions, Path(folder))
    print(pipeline_table(results["pipeline"]))
    out.write_text(json.dumps(results, indent=2) + "\n")


def queue_repo(folder: Path, epochs: int) -> Path:
    """A repository of the pipeline on the demo faces, run once and committed, so that a
    queued experiment of another ``vae.seed`` reruns train_vae, export, evaluate and render."""
    vae = {"epochs": epochs, "snapshot_every": min(5, epochs)}
    repo = make_repo(folder / "queue", {"vae": vae, "gan": {"epochs": 4}})
    for command in (["dvc", "repro", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "run"]):
        run(repo, command[0] == "dvc", command)
    return repo


def run(repo: Path, is_dvc: bool, command: list[str]) -> str:
    command = [sys.executable, "-m", *command] if is_dvc else command
    result = subprocess.run(command, cwd=repo, env=environment(), capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def start_workers(repo: Path, jobs: int) -> None:
    """`dvc queue start -j jobs`. The workers outlive it and hold its pipes: its output goes
    to a file."""
    with open(repo.parent / "queue.log", "a") as log:
        command = [sys.executable, "-m", "dvc", "queue", "start", "-j", str(jobs)]
        subprocess.run(command, cwd=repo, env=environment(), stdout=log, stderr=log, check=True)


def sweep_seconds(repo: Path, jobs: int, seeds: tuple[int, int]) -> float | None:
    """Two queued experiments (``vae.seed`` each of ``seeds``): seconds from ``dvc queue
    start -j jobs`` until both succeeded; None where a task stayed queued with no worker
    left to take it (seen with DVC 3.67, about one sweep in seven): the queue is cleared."""
    run(repo, True, ["dvc", "exp", "run", "--queue", "-S", f"vae.seed={seeds[0]},{seeds[1]}"])
    started = time.perf_counter()
    start_workers(repo, jobs)
    idle = 0  # polls in a row with a task queued and no worker
    while True:  # each sweep starts with no task listed (the last one's are removed)
        status = run(repo, True, ["dvc", "queue", "status"])
        if status.count("Success") + status.count("Failed") >= 2:
            break
        idle = idle + 1 if "Queued" in status and "0 active, 0 idle" in status else 0
        if idle == 10:
            print(f"-j {jobs}: a queued experiment lost its worker; the round is run again", flush=True)
            run(repo, True, ["dvc", "queue", "remove", "--all"])
            return None
        time.sleep(1)
    seconds = time.perf_counter() - started
    if status.count("Success") < 2 or "Failed" in status:
        sys.exit(f"the queued experiments did not both succeed:\n{status}")
    run(repo, True, ["dvc", "queue", "remove", "--success"])
    # An idle worker would take the next sweep's experiments: none may outlive this one.
    run(repo, True, ["dvc", "queue", "stop"])
    while "0 active, 0 idle" not in run(repo, True, ["dvc", "queue", "status"]):
        time.sleep(1)
    return seconds


def sweeps(folder: Path, epochs: int, rounds: int) -> dict[int, list[float]]:
    """Seconds of the sweep per round with one and two workers, in alternating order."""
    repo = queue_repo(folder, epochs)
    results: dict[int, list[float]] = {1: [], 2: []}
    seed = 1
    for round_ in range(rounds):
        for jobs in (1, 2) if round_ % 2 == 0 else (2, 1):
            seconds = None
            while seconds is None:
                seconds = sweep_seconds(repo, jobs, (seed, seed + 1))
                seed += 2
            results[jobs].append(seconds)
            print(f"sweep, round {round_ + 1}, -j {jobs}: {seconds:.0f} s", flush=True)
    return results
