"""Experiments as users run them: a queued sweep, `dvc exp show`, `dvc metrics diff`."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from pipeline_repo import ENV, copy_repo, dvc, run


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
            env=ENV,  # the workers start `dvc` by name: it must be found from an unactivated venv too
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
        vae = data["metrics"]["models/vae/live/metrics.json"]["data"]
        assert vae["val_kl_loss"] > 0 and vae["step"] == 5
    assert weights == {0.5, 2}
    # Two experiments' curves and images side by side.
    name = experiments[0]["revs"][0]["name"]
    dvc(repo, "plots", "diff", "HEAD", name, "-o", "diff_plots")
    page = (repo / "diff_plots" / "index.html").read_text()
    assert f'"rev": "{name}"' in page and '"rev": "HEAD"' in page
    assert f"static/{name}_plots_vae_vae_samples_E5.png" in page
    # The README's comparison: only what differs between the experiments, best first.
    table = dvc(repo, "exp", "show", "--csv", "--only-changed", "--sort-by", "vae.swd").splitlines()
    header = table[0].split(",")
    assert "vae.kl_weight" in header and "vae.swd" in header and "gan.lr" not in header
    assert len(table) == 1 + 2 + 2  # header, workspace and main, two experiments
    swd = [float(row.split(",")[header.index("vae.swd")]) for row in table[3:]]
    assert swd == sorted(swd)


def test_exp_show_stays_narrow_and_the_metrics_a_handful(committed_repo):
    """What a user compares: a few metrics, not a hundred (every other figure is in the report)."""
    repo = committed_repo
    assert len(dvc(repo, "exp", "show", "--csv").splitlines()[0].split(",")) <= 130
    declared = json.loads(dvc(repo, "metrics", "show", "--json"))
    keys = [
        key for files in declared.values() for data in files["data"].values() for key in flatten(data["data"])
    ]
    assert len(keys) <= 40, keys


def flatten(tree: dict, prefix: str = "") -> list[str]:
    return [
        k
        for key, v in tree.items()
        for k in (flatten(v, f"{prefix}{key}.") if isinstance(v, dict) else [prefix + key])
    ]


def test_metrics_diff_has_readable_names(committed_repo):
    """An experiment of the sweep against the commit it started from (the sweep ran above)."""
    repo = committed_repo
    (name,) = [n for n in dvc(repo, "exp", "list", "--name-only").split() if n][:1]
    diff = dvc(repo, "metrics", "diff", "HEAD", name, "--precision", "3")
    assert "models/vae/live/metrics.json" in diff and "val_recon_loss" in diff
    assert "metrics/evaluate.json" in diff and "vae.recon_loss" in diff  # dotted names, not a blob
