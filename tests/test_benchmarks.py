"""The benchmarks run end to end and report what docs/ quotes."""

import ast
import json
import re
import subprocess
import sys

import pytest

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


def test_explore_trains_a_variant_and_scores_it_with_evaluates_code(tmp_path):
    from benchmarks.explore import run_variant, summary_line
    from facegen.data import orl_faces
    from facegen.io import load_prepared, save_prepared, save_torch
    from facegen.judge import FaceJudges, judge_real

    faces = orl_faces()[:60]
    save_prepared(tmp_path / "prepared", {"train": faces[:40], "val": faces[40:50], "test": faces[50:]}, {})
    with FaceJudges() as judges:
        save_torch(tmp_path / "real.pt", judge_real(load_prepared(tmp_path / "prepared"), judges))
    job = (
        "gan_r6_lab",
        "gan",
        {"batch_size": 8},
        2,
        1,
        0,
        2,
        tmp_path / "prepared",
        tmp_path / "real.pt",
        tmp_path / "out",
    )
    result = run_variant(job)
    assert "error" not in result, result.get("error")
    assert [row["epoch"] for row in result["curve"]] == [1, 2] and len(result["history"]) == 2
    final = result["final"]
    assert final["swd"] > 0 and 0 <= final["face_rate"] <= 1 and final["c2st_sd"] >= 0
    assert final["memorisation_ratio"] == final["val_memorisation_ratio"]  # no test people: validation only
    assert (tmp_path / "out" / "gan_r6_lab_s0" / "samples.png").is_file()
    assert "gan_r6_lab" in summary_line(result) and "face_rate" in summary_line(result)


def test_the_beside_benchmark_reads_epoch_times_and_tabulates_them():
    from benchmarks.beside import EPOCH, table

    line = "06:36:43 facegen.train.loop: vae epoch   1/5  train_loss 438.9  val_kl_loss 1.227  0.7s"
    assert EPOCH.search(line).group(1) == "0.7"
    assert EPOCH.search("plain epoch   2/8 2.31s").group(1) == "2.31"
    lines = table({"stage alone": [2.0, 2.2, 2.4], "stage beside a second stage": [4.0, 5.0, 4.4],
                   "plain torch alone": [2.0], "plain torch beside plain torch": [9.0]})  # fmt: skip
    assert lines.splitlines()[3] == "| stage beside a second stage | 4.40 (4.00-5.00) | 2.00x |"
    assert lines.splitlines()[-1].endswith("| 4.50x |")


def test_versus_reads_settings_and_tabulates_each_round():
    from benchmarks.versus import settings, table

    assert settings(["vae.epochs=20", "gan.hflip=true", "vae.lr=1e-3"]) == {
        "vae": {"epochs": 20, "lr": "1e-3"},  # YAML 1.1: params.yaml reads it the same way
        "gan": {"hflip": True},
    }
    rows = [{"variant": v, "round": r, "stage": "train_vae", "seconds": s} for v, r, s in
            [("abc", 1, 40.0), ("now", 1, 41.0), ("abc", 2, 38.0), ("now", 2, 37.0), ("abc", 3, 39.0), ("now", 3, 39.5)]]  # fmt: skip
    lines = table(rows).splitlines()
    assert lines[2] == "| `train_vae` | 40, 38, 39 | 41, 37, 40 | 39 -> 40 s |"
    assert lines[3] == "| first round, total | 40 | 41 | |"


def test_tight_crops_keep_each_faces_centre_at_full_size():
    import torch

    from benchmarks.tight_crops import table, tight
    from facegen.io import Faces

    images = torch.zeros(2, 1, 64, 64, dtype=torch.uint8)
    images[..., 12:52, 12:52] = 200  # a bright centre of 40 px in a dark border
    cropped = tight(Faces(images, images[:1], images[:1]), 40)
    assert cropped.train.shape == (2, 1, 64, 64) and cropped.train.dtype == torch.uint8
    assert (cropped.train == 200).all()  # the border is gone, the centre fills the face
    row = {"face_rate": 0.8, "face_rate_sd": 0.03, "swd": 37.0, "swd_sd": 7.0, "c2st": 0.5, "c2st_sd": 0.05}
    text = table({"tight": {"real_vs_real": row, "real": {"heldout_face_rate": 0.8}}})
    assert "| tight | real_vs_real | 0.8 ± 0.03 | 37 ± 7 | 0.5 ± 0.05 |" in text


def test_registration_moves_each_faces_eyes_onto_the_target_eyes():
    import numpy as np

    from benchmarks.tight_crops import registered_face

    image = np.full((64, 64), 100, dtype=np.uint8)
    eyes = np.array([[20.0, 30.0], [40.0, 26.0]])  # (x, y): tilted, 20.4 px apart
    for x, y in eyes.astype(int):
        image[y - 1 : y + 2, x - 1 : x + 2] = 255
    target = np.array([[22.0, 24.0], [42.0, 24.0]])  # level, 20 px apart
    moved = registered_face(image, eyes, target)
    assert moved.shape == (64, 64) and moved.dtype == np.uint8
    for x, y in target.astype(int):
        assert moved[y, x] > 200  # an eye landed here
    assert moved[30, 20] < 150 and (moved[0] == 100).all()  # not where it was; border repeated


def test_truncation_scales_evaluates_own_codes():
    import torch

    from benchmarks.truncation import truncated
    from facegen.judge.evaluate import model_sampler
    from facegen.models import GAN

    torch.manual_seed(0)
    gan = GAN(latent_dim=8, architecture="dcgan").eval()
    assert torch.equal(truncated(gan, 1.0, 0)(4, 1), model_sampler(gan, 0)(4, 1))  # psi 1: evaluate's faces
    middle = gan.generate(torch.zeros(4, 8)).clamp(0, 1)
    assert torch.equal(truncated(gan, 0.0, 0)(4, 1), middle)  # psi 0: every code the mean code
    assert not torch.equal(truncated(gan, 0.5, 0)(4, 1), middle)
