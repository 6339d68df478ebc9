"""The benchmarks run end to end and report what docs/ quotes."""

import ast
import json
import re
import subprocess
import sys

import pytest
import torch

from conftest import ROOT


@pytest.mark.slow  # seven worker processes: about two minutes on 2 cores
def test_benchmark_runs_both_loops_and_writes_its_table(tmp_path):
    out = tmp_path / "results.json"
    command = [sys.executable, "-m", "benchmarks.bench_training", "--sizes", "200", "--repeats", "1"]
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


def test_each_loop_trains_in_a_worker_and_the_steps_cost_what_the_table_says():
    from benchmarks.bench_training import JOINT, flops_per_image, worker

    for kind in ("vae", "gan"):
        for loop in ("reference", "project"):
            row = worker(loop, kind, 128, 1, "fp32")
            assert row["images_per_s"] > 0 and row["peak_rss_mb"] > 0, (kind, loop)
    # The project's joint step passes the real batch through D in the generator half too (one
    # forward more than the lab's step) and skips D's weight gradients there.
    gan = {impl: flops_per_image("gan", impl) for impl in ("reference", JOINT, "project")}
    assert gan["reference"] < gan["project"] < 1.15 * gan["reference"] and gan["project"] <= gan[JOINT]
    assert flops_per_image("vae", "project") == flops_per_image("vae", "reference")


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
    from benchmarks.stage_timer import make_repo, time_stage

    repo = make_repo(tmp_path / "repo", {"train": {"precision": "fp32"}})
    assert "precision: fp32" in (repo / "params.yaml").read_text()
    row = time_stage(repo, "demo_data")
    assert row["stage"] == "demo_data" and row["seconds"] > 0 and row["peak_rss_mb"] > 10
    assert (repo / "dvc.lock").exists() and "demo_data" in (repo / "dvc.lock").read_text()


def test_benchmarks_import_one_way_and_never_edit_the_path():
    """Run as `python -m benchmarks.<name>` from the repository root; they import each other as
    `benchmarks.<name>` and the project as `facegen`."""
    local = {p.stem for p in (ROOT / "benchmarks").glob("*.py")}
    for path in (ROOT / "benchmarks").glob("*.py"):
        source = path.read_text()
        assert "sys.path" not in source, path.name
        for node in ast.walk(ast.parse(source)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            assert not set(names) & local, f"{path.name} imports {set(names) & local} without benchmarks."


def test_the_beside_benchmark_reads_epoch_times_and_tabulates_them():
    from benchmarks.beside import EPOCH, sweep_table, table

    line = "06:36:43 facegen.train.loop: vae epoch   1/5  train_loss 438.9  val_kl_loss 1.227  0.7s"
    assert EPOCH.search(line).group(1) == "0.7"
    assert EPOCH.search("plain epoch   2/8 2.31s").group(1) == "2.31"
    epochs = {"stage alone": [2.0, 2.2, 2.4], "stage beside a second stage": [4.0, 5.0, 4.4]}
    epochs |= {"plain torch alone": [2.0], "plain torch beside plain torch": [9.0]}
    lines = table(epochs)
    assert lines.splitlines()[3] == "| stage beside a second stage | 4.40 (4.00-5.00) | 2.00x |"
    assert lines.splitlines()[-1].endswith("| 4.50x |")
    sweep = sweep_table({1: [120.0, 124.0], 2: [90.0, 94.0]}, 20).splitlines()
    assert sweep[2] == "| `dvc queue start -j 1` | 120, 124 | 1.00x |"
    assert sweep[3] == "| `dvc queue start -j 2` | 90, 94 | 0.75x |"
    assert sweep[-1] == "-j 2 finishes in 75% of the time -j 1 takes."


def test_versus_reads_settings_and_tabulates_each_round():
    from benchmarks.versus import settings, table

    assert settings(["vae.epochs=20", "gan.hflip=true", "vae.lr=1e-3"]) == {
        "vae": {"epochs": 20, "lr": "1e-3"},  # YAML 1.1: params.yaml reads it the same way
        "gan": {"hflip": True},
    }
    seconds = {("abc", 1): 40.0, ("now", 1): 41.0, ("abc", 2): 38.0, ("now", 2): 37.0, ("abc", 3): 39.0}
    seconds[("now", 3)] = 39.5
    rows = [{"variant": v, "round": r, "stage": "train_vae", "seconds": s} for (v, r), s in seconds.items()]
    lines = table(rows).splitlines()
    assert lines[2] == "| `train_vae` | 40, 38, 39 | 41, 37, 40 | 39 -> 40 s |"
    assert lines[3] == "| first round, total | 40 | 41 | |"


def test_benchmark_functions_stay_short():
    """The bound src keeps: no benchmark function over 60 lines, no script over 300."""
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        lines = path.read_text().splitlines()
        assert len(lines) <= 300, f"{path.name}: {len(lines)} lines"
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.FunctionDef):
                assert node.end_lineno - node.lineno < 60, f"{path.name}:{node.lineno} {node.name}"


def test_a_refitted_prior_keeps_the_networks_and_refits_only_the_prior():
    from benchmarks.prior_components import refitted
    from facegen.models import VAE, fixed_codes

    torch.manual_seed(0)
    trained = VAE(8, "lab", prior_components=3).eval()
    codes = torch.randn(60, 8) * 2 + 1
    trained.fit_mixture(codes, seed=0)
    z = fixed_codes(4, 8, 0)
    same = refitted(trained, 3, codes, seed=0)
    with torch.no_grad():  # the same networks and the same EM: the same faces, to the bit
        assert torch.equal(same.generate(z), trained.generate(z))
    gaussian = refitted(trained, 0, codes, seed=0)
    assert gaussian.prior_components == 0
    torch.testing.assert_close(gaussian.prior_mean, codes.mean(0), rtol=0, atol=1e-5)  # float32 buffer


def test_prior_components_prints_a_row_per_prior(tmp_path, capsys):
    from benchmarks.prior_components import main
    from facegen.data.demo import orl_faces
    from facegen.io import save_prepared, save_torch
    from facegen.models import VAE
    from facegen.models.checkpoint import checkpoint

    faces = orl_faces()
    save_prepared(
        tmp_path / "prepared", {"train": faces[:320], "val": faces[320:360], "test": faces[360:]}, {}
    )
    save_torch(tmp_path / "vae.pt", checkpoint("vae", VAE(8, "lab", prior_components=2), 1, {}))
    prepared = str(tmp_path / "prepared")
    main([str(tmp_path / "vae.pt"), "--data", prepared, "--components", "2", "--draws", "2"])
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines()[2:]]
    assert [row[0] for row in rows] == ["| as trained", "| one Gaussian", "| mixture of 2"]
    for row in rows:  # five judges, each mean ± sd over the 2 draws; recall a share
        assert len(row) == 6 and all(" ± " in cell for cell in row[1:])
        assert 0 <= float(row[3].split(" ± ")[0]) <= 1
