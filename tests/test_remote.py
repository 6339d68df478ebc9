"""Beyond one machine, as docs/pipeline.md tells a team to work: a shared DVC remote (a local
folder, as a shared disk is; S3, SSH and the rest behave the same through DVC) with the run
cache, and experiments moved between clones through a bare git remote. Every command here is
one the docs show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline_repo import copy_repo, digests, dvc, repro, run, set_param

TRIED = {"prepare": ("seed", 1), "render": ("steps", 6)}  # settings the first clone tried and pushed


def try_and_go_back(repo: Path, stage: str) -> None:
    """Run ``stage`` with its ``TRIED`` setting, push its run record and outputs (``dvc push
    --run-cache`` while they are in the workspace), then go back to the committed state."""
    key, value = TRIED[stage]
    set_param(repo, stage, key, value)
    assert repro(repo, stage) == {stage}
    dvc(repo, "push", "--run-cache")
    run(repo, "git", "checkout", "--", ".")
    dvc(repo, "checkout")


@pytest.fixture(scope="module")
def shared(tiny_run, tmp_path_factory) -> tuple[Path, Path]:
    """A finished tiny run committed and pushed: git history to a bare repository, outputs and
    run records to a DVC remote folder; the first clone also tried ``TRIED`` and went back, so
    the remote holds runs the lock does not name. Returns (the folder holding origin.git and
    storage, the first clone)."""
    root = tmp_path_factory.mktemp("team")
    first = copy_repo(tiny_run[0], root / "first")
    run(root, "git", "init", "-q", "--bare", "origin.git")
    dvc(first, "remote", "add", "-d", "storage", str(root / "storage"))
    run(first, "git", "add", "-A")
    run(first, "git", "commit", "-qm", "a finished run, and where its outputs are shared")
    run(first, "git", "remote", "add", "origin", str(root / "origin.git"))
    run(first, "git", "push", "-q", "origin", "HEAD:refs/heads/main")
    for stage in TRIED:
        try_and_go_back(first, stage)
    dvc(first, "push", "--run-cache")
    return root, first


def clone(root: Path, path: Path) -> Path:
    """A teammate's fresh clone: git history only, no outputs, no DVC cache."""
    run(root, "git", "clone", "-q", "-b", "main", str(root / "origin.git"), str(path))
    assert not (path / "models").exists() or not any((path / "models").rglob("*.pt"))
    return path


def test_a_teammate_pulls_every_output_and_nothing_trains_again(shared, tmp_path):
    root, first = shared
    second = clone(root, tmp_path / "second")
    dvc(second, "pull", "--run-cache")
    output = dvc(second, "repro")
    assert "Running stage" not in output and "up to date" in output, output
    assert digests(second) == digests(first)  # every output, byte for byte
    assert json.loads(dvc(second, "metrics", "diff", "--json")) == {}


def test_a_changed_setting_reruns_only_its_stage(shared, tmp_path):
    root, _ = shared
    second = clone(root, tmp_path / "second")
    dvc(second, "pull", "--run-cache")
    set_param(second, "render", "steps", 5)
    assert repro(second) == {"render"}


def test_the_run_cache_brings_back_stages_with_cached_outputs_and_reruns_those_with_git_tracked_ones(
    shared, tmp_path
):
    """What docs/pipeline.md says of the shared run cache: a run tried on another machine
    comes back without running (``dvc repro --pull``) where all its outputs are in DVC's
    cache (prepare); DVC does
    not push the objects of ``cache: false`` outputs (render's comparison figure, the
    training stages' metrics.json), so a stage with one runs again."""
    root, _ = shared
    second = clone(root, tmp_path / "second")
    dvc(second, "pull", "--run-cache")
    set_param(second, "prepare", "seed", TRIED["prepare"][1])
    output = dvc(second, "repro", "--pull", "prepare")  # --pull: the run's outputs from the remote
    assert "Stage 'prepare' is cached - skipping run" in output and "Running stage" not in output, output
    run(second, "git", "checkout", "--", ".")
    dvc(second, "checkout")
    set_param(second, "render", "steps", TRIED["render"][1])
    assert repro(second, "--pull") == {"render"}


def test_an_experiment_moves_to_another_clone_with_its_params_metrics_and_models(shared, tmp_path):
    root, first = shared
    runner = copy_repo(first, tmp_path / "runner")  # the first clone stays as the other tests need it
    dvc(runner, "exp", "run", "-n", "slower-gan", "-S", "gan.lr=2e-4")
    dvc(runner, "exp", "push", "origin", "slower-gan")
    second = clone(root, tmp_path / "second")
    assert "slower-gan" in dvc(second, "exp", "list", "origin")
    dvc(second, "exp", "pull", "origin", "slower-gan")
    dvc(second, "exp", "apply", "slower-gan")
    assert (
        "lr: 2.0e-04" in (second / "params.yaml").read_text()
        or "lr: 0.0002" in (second / "params.yaml").read_text()
    )
    assert repro(second) == set()  # its outputs came with it: nothing retrains
    assert digests(second) == digests(runner)
    metrics = json.loads(dvc(second, "metrics", "diff", "--json"))
    assert "metrics/evaluate.json" in metrics  # the experiment's numbers, against main's
