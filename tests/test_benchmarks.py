"""The throughput benchmark runs end to end and reports what the README's table shows."""

import json
import re
import subprocess
import sys

import pytest

from conftest import ROOT


def test_benchmark_runs_both_loops_and_writes_its_table(tmp_path):
    out = tmp_path / "results.json"
    command = [sys.executable, "benchmarks/bench_training.py", "--sizes", "200", "--repeats", "1"]
    command += ["--batches", "1", "--bf16", "--out", str(out)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    results = json.loads(out.read_text())
    rows = {(r["model"], r["loop"], r["precision"]): r for r in results["rows"]}
    loops = (("reference", "fp32"), ("project", "fp32"), ("project", "bf16"))
    assert set(rows) == {(m, *loop) for m in ("vae", "gan") for loop in loops} | {
        ("gan", "reference_joint", "fp32")
    }
    for (_, loop, _), row in rows.items():
        assert row["n"] == 200 and row["images_per_s"] > 0 and row["peak_rss_mb"] > 0
        if loop == "reference":
            assert row["ratio_to_reference"] == 1.0
    # like with like: the project's GAN loop against the reference loop with the same step
    joint = rows[("gan", "reference_joint", "fp32")]["images_per_s"]
    project = rows[("gan", "project", "fp32")]
    assert project["ratio_to_reference"] == pytest.approx(project["images_per_s"] / joint, abs=0.01)
    # The project's joint step passes the real batch through D in the generator half too (one
    # forward more than the lab's step) and skips D's weight gradients there: 0.83 against 0.75.
    gan = results["flops_per_image"]
    assert gan["gan/reference"] < gan["gan/project"] < 1.15 * gan["gan/reference"]
    assert gan["gan/project"] <= gan["gan/reference_joint"]  # D's weight gradients skipped in G's pass
    assert results["flops_per_image"]["vae/project"] == results["flops_per_image"]["vae/reference"]
    assert results["machine"]["matmul_fp32_gflops"] > 1
    assert re.search(r"^N=   200 gan reference_joint +fp32 .* x\d\.\d\d", run.stdout, re.MULTILINE)


def test_pipeline_table_gives_each_variant_its_total_and_share():
    from benchmarks.stage_timer import pipeline_table

    rows = [
        {"variant": "fp32", "stage": "train_vae", "seconds": 90.0},
        {"variant": "auto", "stage": "train_vae", "seconds": 50.0},
        {"variant": "fp32", "stage": "render", "seconds": 10.0},
        {"variant": "auto", "stage": "render", "seconds": 10.0},
    ]
    lines = pipeline_table(rows).splitlines()
    assert lines[0] == "| stage | `fp32` | `auto` |"
    assert lines[2] == "| `train_vae` | 90 s | 50 s |"
    assert lines[-2:] == ["| total | 100 s | 60 s |", "| of the first | 100% | 60% |"]


def test_stage_timer_runs_one_stage_of_a_fresh_repo(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from stage_timer import make_repo, time_stage

    repo = make_repo(tmp_path / "repo", {"train": {"precision": "fp32"}})
    assert "precision: fp32" in (repo / "params.yaml").read_text()
    row = time_stage(repo, "demo_data")
    assert row["stage"] == "demo_data" and row["seconds"] > 0 and row["peak_rss_mb"] > 10
    assert (repo / "dvc.lock").exists() and "demo_data" in (repo / "dvc.lock").read_text()
