"""Stage scripts as a user runs them: bad input stops with one sentence and no output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import yaml

from facegen.data import mat_bytes, orl_faces, to_ck_layout
from facegen.io import save_prepared

from conftest import ROOT
from mat_files import save_v73_claiming, v5_claiming


def run_stage(tmp_path: Path, stage: str, *args: str, **data: object) -> subprocess.CompletedProcess:
    """Run ``stages/<stage>.py`` in ``tmp_path`` with the repository's params, ``data``
    overriding keys of its ``data`` section."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(data)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    script = ROOT / "stages" / f"{stage}.py"
    return subprocess.run([sys.executable, str(script), *args], cwd=tmp_path, capture_output=True, text=True)


def run_prepare(tmp_path: Path, mat_path: Path, **data: object) -> subprocess.CompletedProcess:
    return run_stage(tmp_path, "prepare", "--out", "prepared", mat_path=str(mat_path), **data)


def assert_one_sentence(result: subprocess.CompletedProcess, *expected: str) -> None:
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for text in expected:
        assert text in errors[0]
    assert "Traceback" not in result.stderr


def make_png(path: Path) -> None:
    from PIL import Image

    Image.new("L", (8, 8)).save(path, format="PNG")


def cube(value: float = 100.0, channels: int = 1) -> np.ndarray:
    return np.full((64, 64, channels, 40), value)


BAD_INPUTS = {
    "missing": (lambda p: None, {}, "file not found"),
    "empty": (lambda p: p.write_bytes(b""), {}, "file is empty"),
    "truncated": (
        lambda p: p.write_bytes(mat_bytes({"X": to_ck_layout(orl_faces()[:40])})[:3000]),
        {},
        "cannot be read as a MATLAB .mat file",
    ),
    "png-renamed": (make_png, {}, "cannot be read as a MATLAB .mat file"),
    "no-image-array": (
        lambda p: scipy.io.savemat(p, {"labels": np.arange(10.0)}),
        {},
        "no image array found",
    ),
    "nan": (lambda p: scipy.io.savemat(p, {"X": np.where(cube() > 0, np.nan, 0)}), {}, "NaN or Inf"),
    "colour": (lambda p: scipy.io.savemat(p, {"X": cube(channels=3)}), {}, "colour images"),
    "missing-key": (lambda p: scipy.io.savemat(p, {"X": cube()}), {"key": "faces"}, "numeric variables: X"),
    "ambiguous": (
        lambda p: scipy.io.savemat(p, {"X": np.zeros((64, 64, 64))}),
        {},
        "fits several layouts (HWN, NHW)",
    ),
    # Headers that claim 8 TiB of faces: refused before anything is read or allocated.
    "claims-too-much-v7.3": (save_v73_claiming, {}, "GiB of memory to read and split, and"),
    "claims-too-much-v5": (lambda p: p.write_bytes(v5_claiming()), {}, "use a file with fewer faces"),
    "claims-too-much-v5-compressed": (
        lambda p: p.write_bytes(v5_claiming(compressed=True)),
        {},
        "variable 'X' of shape (64, 64, 1, 2000000000) (uint8, 7629.4 GiB) needs about",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_prepare_refuses_bad_input_in_one_sentence(tmp_path, case):
    make, data, expected = BAD_INPUTS[case]
    mat_path = tmp_path / "faces.mat"
    make(mat_path)
    result = run_prepare(tmp_path, mat_path, **data)
    assert_one_sentence(result, expected, str(mat_path))
    assert not (tmp_path / "prepared").exists()  # nothing half-written


def test_training_refuses_fewer_images_than_a_batch(tmp_path):
    faces = orl_faces()[:10]
    save_prepared(tmp_path / "prepared", {"train": faces[:8], "val": faces[8:9], "test": faces[9:]}, {})
    result = run_stage(tmp_path, "train", "vae", "--data", "prepared", "--out", "vae", "--resume", "resume")
    assert_one_sentence(result, "only 8 training images, fewer than one batch of vae.batch_size = 16")
    assert not (tmp_path / "vae").exists() or not any((tmp_path / "vae").rglob("*.*"))


def test_bad_params_stop_with_the_key(tmp_path):
    result = run_stage(tmp_path, "prepare", "--out", "prepared", layout="CHWN")
    assert_one_sentence(result, "data.layout = 'CHWN' is not allowed")


def test_prepare_writes_tensors_and_record(tmp_path):
    mat_path = tmp_path / "faces.mat"
    mat_path.write_bytes(mat_bytes({"X": to_ck_layout(orl_faces()[:40])}))
    result = run_prepare(tmp_path, mat_path)
    assert result.returncode == 0, result.stderr
    assert "X: uint8 (64, 64, 1, 40), layout HWCN, 40 faces of 64x64" in result.stderr
    names = sorted(p.name for p in (tmp_path / "prepared").iterdir())
    assert names == ["meta.json", "test.npy", "train.npy", "val.npy"]


def test_training_in_a_git_repository_without_commits_says_to_commit(tmp_path):
    """DVCLive, the training log, reads the repository's HEAD, which a fresh `git init` lacks."""
    faces = orl_faces()[:24]
    save_prepared(tmp_path / "prepared", {"train": faces[:16], "val": faces[16:20], "test": faces[20:]}, {})
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    result = run_stage(tmp_path, "train", "gan", "--data", "prepared", "--out", "gan", "--resume", "resume")
    assert_one_sentence(
        result, "cannot start in this git repository", "commit first: git add -A && git commit"
    )
