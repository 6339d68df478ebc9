"""The pipeline in a temporary repository, one stage at a time, timed: what the CK rehearsal
and the whole-pipeline precision figure of bench_training.py both run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("demo_data", "prepare", "train_vae", "train_gan", "render", "evaluate", "export")


def environment() -> dict[str, str]:
    # dvc runs the stages' `python`: make it this interpreter's, even from an unactivated venv
    return os.environ | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
    }


def make_repo(repo: Path, params: dict[str, dict[str, Any]]) -> Path:
    """A fresh git + DVC repository at ``repo`` holding this checkout's pipeline, with
    params.yaml's sections updated by ``params`` ({"gan": {"epochs": 1}, ...})."""
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
    merged = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in params.items():
        merged[section] |= values
    (repo / "params.yaml").write_text(yaml.safe_dump(merged, sort_keys=False))
    for command in (["git", "init", "-q"], [sys.executable, "-m", "dvc", "init", "-q"]):
        subprocess.run(command, cwd=repo, env=environment(), check=True)
    return repo


def time_stage(repo: Path, stage: str) -> dict[str, Any]:
    """`dvc repro --single-item <stage>` under /usr/bin/time: wall seconds and the peak
    resident memory of the largest of dvc and the stage's processes."""
    command = ["/usr/bin/time", "-f", "%M %e", sys.executable, "-m", "dvc", "repro", "--single-item", stage]
    run = subprocess.run(command, cwd=repo, env=environment(), capture_output=True, text=True)
    if run.returncode:
        sys.exit(f"{stage} failed in {repo}:\n{run.stdout}\n{run.stderr}")
    peak_kb, seconds = run.stderr.strip().splitlines()[-1].split()
    return {"stage": stage, "seconds": float(seconds), "peak_rss_mb": int(peak_kb) // 1024}
