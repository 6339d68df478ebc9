"""End to end: real `dvc repro` in a temporary git repo, on tiny params."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from facegen.data import orl_faces, to_ck_layout
from facegen.mat import mat_bytes

from conftest import ROOT

OUTPUTS = ("data", "models", "plots", "metrics")
TINY = {
    "data": {"mat_path": "data/raw/tiny.mat"},
    "vae": {"epochs": 3, "batch_size": 16},  # 3: room to kill it between snapshots
    "gan": {"epochs": 2, "batch_size": 16},
    "render": {"every": 1, "steps": 4, "rows": 2, "samples": 4},
}


def run(repo: Path, *args: str) -> str:
    env = os.environ | {"DVC_NO_ANALYTICS": "1", "PYTHONHASHSEED": "0"}
    result = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def dvc(repo: Path, *args: str) -> str:
    return run(repo, sys.executable, "-m", "dvc", *args)


def repro(repo: Path) -> set[str]:
    """Run `dvc repro`; return the names of the stages that ran."""
    return set(re.findall(r"Running stage '([\w-]+)'", dvc(repo, "repro")))


def set_param(repo: Path, section: str, key: str, value) -> None:
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params[section][key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def make_repo(path: Path) -> Path:
    """A fresh git + DVC repo with the project's pipeline, tiny params and 60 faces."""
    path.mkdir()
    for name in ("stages", "src"):
        shutil.copytree(ROOT / name, path / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "dvc.yaml", path / "dvc.yaml")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in TINY.items():
        params[section].update(values)
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (path / "data" / "raw").mkdir(parents=True)
    (path / "data" / "raw" / "tiny.mat").write_bytes(mat_bytes({"X": to_ck_layout(orl_faces()[:60])}))
    run(path, "git", "init", "-q")
    dvc(path, "init", "-q")
    dvc(path, "config", "core.analytics", "false")
    return path


def digests(repo: Path) -> dict[str, str]:
    return {
        str(p.relative_to(repo)): hashlib.sha256(p.read_bytes()).hexdigest()
        for top in OUTPUTS
        for p in sorted((repo / top).rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> tuple[Path, dict[str, str], set[str]]:
    repo = make_repo(tmp_path_factory.mktemp("e2e") / "repo")
    ran = repro(repo)
    return repo, digests(repo), ran


def test_repro_runs_every_stage_and_writes_the_outputs(first_run):
    repo, files, ran = first_run
    assert ran == {"demo_data", "prepare", "train_vae", "train_gan", "render", "evaluate", "export"}
    for epoch in (1, 2):
        assert f"plots/vae/vae_interpolation_ck_E{epoch}.png" in files
        assert f"plots/gan/gan_interpolation_ck_E{epoch}.png" in files
        assert f"plots/vae/vae_samples_E{epoch}.png" in files
        assert f"plots/vae/vae_reconstruction_E{epoch}.png" in files
    for name in (
        "vae/vae_interpolation.gif",
        "gan/gan_interpolation.gif",
        "vae/losses.png",
        "gan/losses.png",
    ):
        assert f"plots/{name}" in files
    table = (repo / "plots/vae/losses.csv").read_text().splitlines()
    assert table[0].startswith("epoch,") and len(table) == 4
    vae = json.loads((repo / "metrics/vae.json").read_text())
    assert vae["epochs"] == 3 and np.isfinite(vae["val"]["recon_loss"])
    quality = json.loads((repo / "metrics/evaluate.json").read_text())
    for model in ("vae", "gan"):
        assert quality[model]["swd"] > 0 and 0 <= quality[model]["precision"] <= 1
    assert {"real_vs_real", "pca_gaussian"} <= set(quality["baselines"])
    assert "plots/compare/vae_vs_gan.png" in files
    meta = json.loads((repo / "data/prepared/meta.json").read_text())
    assert meta["count"] == 60 and meta["layout"] == "HWCN"
    assert "up to date" in dvc(repo, "status").lower() or "nothing" in dvc(repo, "status").lower()


def test_two_runs_from_scratch_give_identical_bytes(first_run, tmp_path):
    _, files, _ = first_run
    other = make_repo(tmp_path / "again")
    repro(other)
    assert digests(other) == files


def test_a_change_reruns_only_the_stages_it_affects(first_run):
    repo, _, _ = first_run
    set_param(repo, "render", "steps", 5)
    assert repro(repo) == {"render"}
    set_param(repo, "gan", "lr", 1.0e-4)
    assert repro(repo) == {"train_gan", "render", "evaluate", "export"}
    assert repro(repo) == set()


def test_a_killed_training_stage_is_rerun_and_gives_the_same_bytes(first_run, tmp_path):
    _, files, _ = first_run
    repo = make_repo(tmp_path / "killed")
    env = os.environ | {"DVC_NO_ANALYTICS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "dvc", "repro"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so the signal reaches the stage too
    )
    for line in process.stdout:
        if "Running stage 'train_vae'" in line:
            break
    deadline = time.monotonic() + 60
    # Kill once training has written its first snapshot: midway, with files on disk.
    while not list((repo / "models/vae/snapshots").glob("*.pt")) and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGTERM)
    process.communicate(timeout=60)
    assert process.returncode != 0
    assert not (repo / "models/vae/history.json").exists()
    assert not list(repo.rglob("*.tmp"))  # temporary files were cleaned up
    assert "train_vae" in dvc(repo, "status")
    assert "train_vae" in repro(repo)
    assert digests(repo) == files
