"""End to end: real `dvc repro` in a temporary git repo, on tiny params."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline_repo import ENV, copy_repo, digests, dvc, forget_stage, make_repo, repro, set_param


@pytest.fixture(scope="module")
def first_run(tiny_run, tmp_path_factory) -> tuple[Path, dict[str, str], set[str]]:
    source, ran = tiny_run
    repo = copy_repo(source, tmp_path_factory.mktemp("e2e") / "repo")
    return repo, digests(repo), ran


def test_repro_runs_every_stage_and_writes_the_outputs(first_run):
    repo, files, ran = first_run
    assert ran == {
        "demo_data",
        "prepare",
        "real_faces",
        "train_vae",
        "train_gan",
        "render",
        "evaluate",
        "export",
    }
    for epoch in (1, 2):
        assert f"plots/vae/vae_interpolation_E{epoch}.png" in files
        assert f"plots/gan/gan_interpolation_E{epoch}.png" in files
        assert f"plots/vae/vae_samples_E{epoch}.png" in files
        assert f"plots/vae/vae_reconstruction_E{epoch}.png" in files
    for name in (
        "vae/vae_interpolation.gif",
        "gan/gan_interpolation.gif",
        "vae/losses.png",
        "gan/losses.png",
    ):
        assert f"plots/{name}" in files
    table = (repo / "plots/tables/vae_losses.csv").read_text().splitlines()
    assert table[0].startswith("epoch,") and len(table) == 6
    live = json.loads((repo / "models/vae/live/metrics.json").read_text())  # DVCLive's latest epoch
    assert live["step"] == 5 and np.isfinite(live["val_recon_loss"])
    assert "models/vae/live/plots/images/samples.png" in files
    assert not (repo / ".resume").exists()  # removed once each stage completes
    headline = json.loads((repo / "metrics/evaluate.json").read_text())
    assert set(headline) == {"vae", "gan", "real_vs_real", "pca_gaussian"}
    assert sum(len(row) for row in headline.values()) == 24
    for model in ("vae", "gan"):
        assert headline[model]["swd"] > 0 and 0 <= headline[model]["face_rate"] <= 1
    report = json.loads((repo / "plots/tables/report.json").read_text())
    assert 0 <= report["sets"]["gan"]["precision"] <= 1 and "c2st_sd" in report["sets"]["pca_gaussian"]
    assert "plots/compare/vae_vs_gan.png" in files and "plots/tables/draws.csv" in files
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
    assert repro(repo) == {"train_gan", "export", "evaluate", "render"}
    assert repro(repo) == set()


# The kill tests start from a finished run and train the VAE again (`--force`): a fresh
# pipeline would cost a minute more each. The stage is first dropped from the lock, and the
# rerun after the kill is `--no-run-cache`: DVC must run the stage (and resume it), not restore
# its outputs from the run that went before.
RETRAIN_VAE = ("repro", "--force", "--single-item", "train_vae")


def retrain_copy(tiny_run, path: Path) -> Path:
    """A copy of the finished tiny run whose VAE stage never completed."""
    repo = copy_repo(tiny_run[0], path)
    forget_stage(repo, "train_vae")
    return repo


def start(repo: Path, output: int = subprocess.DEVNULL) -> subprocess.Popen:
    """`dvc repro` training the VAE again, in its own process group, so a signal to the group
    reaches the stage too."""
    command = [sys.executable, "-m", "dvc", *RETRAIN_VAE]
    return subprocess.Popen(
        command, cwd=repo, env=ENV, stdout=output, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )


def test_a_killed_training_stage_is_rerun_and_gives_the_same_bytes(tiny_run, tmp_path):
    files = digests(tiny_run[0])
    repo = retrain_copy(tiny_run, tmp_path / "killed")
    process = start(repo, subprocess.PIPE)
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
    assert not (repo / "models/vae/checkpoint.pt").exists()
    assert not list(repo.rglob("*.tmp"))  # temporary files were cleaned up
    assert "train_vae" in dvc(repo, "status")
    assert repro(repo, "--no-run-cache") == {"train_vae"}  # what follows sees the same bytes again
    assert digests(repo) == files


def kill_after_resume_state(repo: Path, epoch: int) -> None:
    """SIGKILL `dvc repro` (no cleanup at all) once train_vae has saved the resume state of
    ``epoch``: midway, with snapshots on disk and epochs still to go."""
    process = start(repo)
    record = repo / ".resume" / "train_vae" / "state.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if record.is_file() and json.loads(record.read_text())["epoch"] >= epoch:
            break
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert not (repo / "models/vae/checkpoint.pt").exists()  # killed before it completed


def test_a_sigkilled_training_stage_resumes_and_gives_the_same_bytes(tiny_run, tmp_path):
    files = digests(tiny_run[0])
    repo = retrain_copy(tiny_run, tmp_path / "sigkill")
    kill_after_resume_state(repo, 2)
    assert "train_vae" in dvc(repo, "status")  # honest: not complete
    output = dvc(repo, "repro", "--no-run-cache")
    assert "resuming from epoch 2" in output and "vae epoch   1/5" not in output
    assert digests(repo) == files
    assert not (repo / ".resume").exists()


def test_a_changed_param_starts_training_over_and_says_why(tiny_run, tmp_path):
    repo = retrain_copy(tiny_run, tmp_path / "changed")
    kill_after_resume_state(repo, 2)
    set_param(repo, "vae", "lr", 5.0e-4)
    output = dvc(repo, "repro", "--no-run-cache", "--single-item", "train_vae")
    assert (
        "ignoring the resume state" in output
        and "the params, the prepared faces or the code changed" in output
    )
    assert "vae epoch   1/5" in output and "resuming" not in output


def test_a_truncated_resume_state_is_ignored(tiny_run, tmp_path):
    repo = retrain_copy(tiny_run, tmp_path / "truncated")
    kill_after_resume_state(repo, 2)
    state = next((repo / ".resume" / "train_vae").glob("state_*.pt"))
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    output = dvc(repo, "repro", "--no-run-cache", "--single-item", "train_vae")
    assert "does not match its recorded sha256 (truncated or corrupt)" in output
    assert "vae epoch   1/5" in output and "resuming" not in output


@pytest.mark.slow
def test_the_default_pipeline_runs_in_under_10_minutes(tmp_path):
    repo = make_repo(tmp_path / "default", tiny=False)
    started = time.monotonic()
    assert "train_gan" in repro(repo)
    assert time.monotonic() - started < 600
    vae = json.loads((repo / "models/vae/live/metrics.json").read_text())
    assert vae["val_recon_loss"] < 60  # faces, not the mean face (about 92)
