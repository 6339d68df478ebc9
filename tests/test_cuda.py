"""The tiny pipeline on a CUDA GPU, where one is present (`pytest -m cuda`); skipped elsewhere."""

from __future__ import annotations

import pytest
import torch

from facegen.models import read_checkpoint

from pipeline_repo import make_repo, repro, set_param

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine"),
]


def test_the_tiny_pipeline_trains_on_the_gpu_and_evaluates_on_the_cpu(tmp_path):
    repo = make_repo(tmp_path / "repo")
    for section in ("vae", "gan"):
        set_param(repo, section, "device", "cuda")
    assert {"train_vae", "train_gan", "evaluate", "render"} <= repro(repo)
    for kind in ("vae", "gan"):
        trained_with = read_checkpoint(repo / "models" / kind / "checkpoint.pt")["trained_with"]
        assert trained_with["device"] == "cuda"
        # bf16 where the GPU does it natively (Ampere and later), as `train.precision: auto` says
        assert trained_with["precision"] == ("bf16" if torch.cuda.is_bf16_supported() else "fp32")
    assert (repo / "metrics" / "evaluate.json").is_file()
