"""A temporary git + DVC repository holding the project's pipeline on tiny params, for
end-to-end tests that run the real `dvc` command line."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from benchmarks.stage_timer import environment
from benchmarks.stage_timer import make_repo as make_pipeline_repo
from facegen.data import mat_bytes, orl_faces, to_ck_layout

OUTPUTS = ("data", "models", "plots", "metrics")
TINY = {
    "data": {"mat_path": "data/raw/tiny.mat"},
    "vae": {"epochs": 5, "batch_size": 16, "snapshot_every": 1},  # 5: room to kill it between snapshots
    "gan": {"epochs": 2, "batch_size": 16, "snapshot_every": 1},
    "render": {"steps": 4, "rows": 2, "samples": 4},
    "evaluate": {"draws": 2},
}


ENV = environment()  # of every command the tests run in a temporary repo


def run(repo: Path, *args: str) -> str:
    result = subprocess.run(args, cwd=repo, env=ENV, capture_output=True, text=True)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def dvc(repo: Path, *args: str) -> str:
    return run(repo, sys.executable, "-m", "dvc", *args)


def repro(repo: Path, *options: str) -> set[str]:
    """Run `dvc repro` with ``options``; return the names of the stages that ran."""
    return set(re.findall(r"Running stage '([\w-]+)'", dvc(repo, "repro", *options)))


def set_param(repo: Path, section: str, key: str, value) -> None:
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params[section][key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def make_repo(path: Path, tiny: bool = True) -> Path:
    """A fresh git + DVC repo with the project's pipeline (as the benchmarks make it); ``tiny``:
    tiny params on 60 faces, six people: four to train on, one to validate, one to test (else
    the default params, on the ORL demo faces)."""
    files = {"data/raw/tiny.mat": mat_bytes({"X": to_ck_layout(orl_faces()[:60])})} if tiny else {}
    return make_pipeline_repo(path, TINY if tiny else {}, files)


def copy_repo(source: Path, path: Path) -> Path:
    """A copy of a repo that has run (git, DVC cache, outputs, lock): for tests that start from
    a finished run without paying for another `dvc repro`."""
    shutil.copytree(source, path, symlinks=True)
    return path


def forget_stage(repo: Path, stage: str) -> None:
    """Drop ``stage`` from dvc.lock, as if it had never completed. While the lock still matches
    the stage's deps and its outputs are in the cache, `dvc repro` checks them out instead of
    running it, `--no-run-cache` or not."""
    path = repo / "dvc.lock"
    lock = yaml.safe_load(path.read_text())
    del lock["stages"][stage]
    path.write_text(yaml.safe_dump(lock, sort_keys=False))


def digests(repo: Path) -> dict[str, str]:
    """The sha256 of every file the pipeline wrote. Not DVC's .gitignore files: after a stage
    fails, `dvc repro` also takes back the entries of the stages that succeeded before it
    (treeverse/dvc#11091, open), and whether a killed run fails that way or dies first
    depends on which process the signal reaches first."""
    return {
        str(p.relative_to(repo)): hashlib.sha256(p.read_bytes()).hexdigest()
        for top in OUTPUTS
        for p in sorted((repo / top).rglob("*"))
        if p.is_file() and p.name != ".gitignore"
    }
