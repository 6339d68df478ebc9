"""This checkout against an earlier commit, side by side: the pipeline from scratch in two
temporary repositories, each running its own code (the earlier commit's on PYTHONPATH), stage
by stage, the two alternating so that drift in the machine's speed hits both alike; then
``--rounds`` - 1 more runs of the stages named by ``--again``, forced, still alternating.

    python -m benchmarks.versus db09fac                          # the default pipeline, once
    python -m benchmarks.versus db09fac --set vae.epochs=20 --set gan.epochs=24 \\
        --again train_vae train_gan --rounds 3                   # the training stages, 3 times

Prints a markdown table: seconds per stage and round for each, and the medians.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from benchmarks.stage_timer import ROOT, STAGES, environment, make_repo, time_stage


def settings(pairs: list[str]) -> dict[str, dict[str, Any]]:
    """``["vae.epochs=20"]`` -> ``{"vae": {"epochs": 20}}`` (values read as YAML)."""
    out: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        key, value = pair.split("=", 1)
        section, name = key.split(".", 1)
        out.setdefault(section, {})[name] = yaml.safe_load(value)
    return out


def earlier(rev: str, folder: Path) -> Path:
    """The files of commit ``rev``, unpacked into ``folder``."""
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def run(
    rev: str, params: dict[str, dict[str, Any]], again: list[str], rounds: int, folder: Path
) -> list[dict]:
    source = earlier(rev, folder / "source")
    repos = {
        rev: make_repo(folder / "before", params, source=source),
        "now": make_repo(folder / "now", params),
    }
    envs = {rev: environment() | {"PYTHONPATH": str(source / "src")}, "now": environment()}
    rows = []
    for round_ in range(1, rounds + 1):
        for stage in STAGES if round_ == 1 else again:
            for name, repo in repos.items():
                row = time_stage(repo, stage, force=round_ > 1, env=envs[name])
                rows.append({"variant": name, "round": round_, **row})
                print(f"round {round_} {name:8s} {stage:10s} {row['seconds']:7.1f} s", flush=True)
    return rows


def table(rows: list[dict]) -> str:
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    stages = list(dict.fromkeys(r["stage"] for r in rows))
    lines = [
        "| stage | " + " | ".join(f"`{v}`: s per round" for v in variants) + " | medians |",
        "|---" * (len(variants) + 2) + "|",
    ]
    for stage in stages:
        seconds = {
            v: [r["seconds"] for r in rows if r["stage"] == stage and r["variant"] == v] for v in variants
        }
        medians = " -> ".join(f"{statistics.median(seconds[v]):.0f}" for v in variants)
        cells = " | ".join(", ".join(f"{s:.0f}" for s in seconds[v]) for v in variants)
        lines.append(f"| `{stage}` | {cells} | {medians} s |")
    first = {v: sum(r["seconds"] for r in rows if r["variant"] == v and r["round"] == 1) for v in variants}
    lines.append("| first round, total | " + " | ".join(f"{first[v]:.0f}" for v in variants) + " | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("rev", help="the earlier commit")
    parser.add_argument("--set", action="append", default=[], help="section.key=value, for both")
    parser.add_argument("--again", nargs="*", default=[], help="stages to run again in the later rounds")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="facegen-versus-") as folder:
        print(table(run(args.rev, settings(args.set), args.again, args.rounds, Path(folder))))


if __name__ == "__main__":
    main()
