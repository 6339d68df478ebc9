"""Experiments as users run them: a queued sweep, `dvc exp show`, `dvc metrics diff`."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from pipeline_repo import copy_repo, dvc, repro, run


@pytest.fixture(scope="module")
def committed_repo(tiny_run, tmp_path_factory):
    repo = copy_repo(tiny_run[0], tmp_path_factory.mktemp("exp") / "repo")
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "baseline")
    return repo


def test_a_queued_sweep_runs_and_exp_show_lists_it(committed_repo):
    repo = committed_repo
    dvc(repo, "exp", "run", "--queue", "-S", "vae.kl_weight=0.5,2")
    # The queue's workers outlive `dvc queue start` and hold its output pipes open: send
    # its output to a file, not a pipe, or waiting for it would wait for the workers.
    with open(repo.parent / "queue.log", "w") as log:
        subprocess.run(
            [sys.executable, "-m", "dvc", "queue", "start", "-j", "2"],
            cwd=repo,
            stdout=log,
            stderr=log,
            check=True,
        )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = dvc(repo, "queue", "status")
        if "Queued" not in status and "Running" not in status:
            break
        time.sleep(2)
    assert status.count("Success") == 2, status
    rows = json.loads(dvc(repo, "exp", "show", "--json"))
    experiments = [e for row in rows for e in (row.get("experiments") or [])]
    weights = set()
    for experiment in experiments:
        data = experiment["revs"][0]["data"]
        weights.add(data["params"]["params.yaml"]["data"]["vae"]["kl_weight"])
        vae = data["metrics"]["metrics/vae.json"]["data"]
        assert vae["val"]["kl_loss"] > 0
    assert weights == {0.5, 2}
    # Two experiments' curves and images side by side.
    name = experiments[0]["revs"][0]["name"]
    dvc(repo, "plots", "diff", "HEAD", name, "-o", "diff_plots")
    page = (repo / "diff_plots" / "index.html").read_text()
    assert f'"rev": "{name}"' in page and '"rev": "HEAD"' in page
    assert f"static/{name}_plots_vae_vae_samples_E5.png" in page
    # The README's `--drop`/`--keep` line keeps just the columns that matter.
    keep = r"Experiment|vae\.kl_weight|val\.loss|vae\.swd$|gan\.swd$|gan\.recall$"
    table = dvc(repo, "exp", "show", "--csv", "--drop", ".*", "--keep", keep).splitlines()
    assert table[0].split(",") == [
        "Experiment",
        "vae.swd",
        "gan.swd",
        "gan.recall",
        "val.loss",
        "vae.kl_weight",
    ]
    assert len(table) == 1 + 2 + 2  # header, workspace and main, two experiments


def test_metrics_diff_has_readable_names(committed_repo):
    repo = committed_repo
    path = repo / "params.yaml"
    path.write_text(path.read_text().replace("kl_weight: 1.0", "kl_weight: 3.0"))
    repro(repo)
    diff = dvc(repo, "metrics", "diff", "--precision", "3")
    assert "metrics/vae.json" in diff and "val.recon_loss" in diff  # dotted names, not a blob
    assert "metrics/evaluate.json" in diff and "vae.elbo" in diff
    run(repo, "git", "checkout", "--", "params.yaml")
