"""The files stages hand each other."""

import json

import numpy as np
import pytest
import torch

from facegen import FacegenError
from facegen.io import (
    atomic_path,
    csv_text,
    grid,
    load_prepared,
    read_csv,
    read_json,
    read_training_log,
    save_prepared,
    sha256,
    to_float,
    write_json,
)
from facegen.train.log import TrainingLog


def test_csv_has_every_rows_columns_and_six_digits(tmp_path):
    rows = [{"epoch": 1, "loss": 9.0, "kl": 1 / 3}, {"epoch": 2, "loss": 4.0, "kl": 2.5, "extra": 0.5}]
    lines = csv_text(rows).splitlines()
    assert lines == ["epoch,loss,kl,extra", "1,9,0.333333,", "2,4,2.5,0.5"]
    (tmp_path / "t.csv").write_text(csv_text(rows))
    assert read_csv(tmp_path / "t.csv") == [{"epoch": 1, "loss": 9.0, "kl": 0.333333, "extra": ""}, rows[1]]


def test_a_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.json"
    try:
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert list(tmp_path.iterdir()) == []
    write_json(target, {"a": 1})
    assert read_json(target) == {"a": 1} and json.loads(target.read_text()) == {"a": 1}
    assert len(sha256(target)) == 64


def test_prepared_roundtrip_keeps_uint8(tmp_path):
    train = np.random.default_rng(0).integers(0, 256, (6, 64, 64), dtype=np.uint8)
    save_prepared(tmp_path, {"train": train, "val": train[:2], "test": train[2:5]}, {"seed": 0})
    faces = load_prepared(tmp_path)
    assert faces.train.dtype == torch.uint8 and faces.train.shape == (6, 1, 64, 64)
    assert np.array_equal(faces.train[:, 0].numpy(), train)
    assert faces.test.shape == (3, 1, 64, 64) and np.array_equal(faces.test[:, 0].numpy(), train[2:5])
    batch = to_float(faces.val)
    assert batch.dtype == torch.float32 and batch.min() >= 0 and batch.max() <= 1
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_missing_prepared_tensors_name_the_stage(tmp_path):
    with pytest.raises(FacegenError, match=r"train.npy: not found; run the 'prepare' stage first"):
        load_prepared(tmp_path)


def test_dvclives_log_reads_back_as_the_rows_logged(tmp_path):
    rows = [{"epoch": e, "train_loss": 1 / e, "val_loss": 2.0 + e / 3} for e in (1, 2, 3)]
    with TrainingLog(tmp_path / "live", latent_dim=4, seed=0) as log:
        for row in rows:
            log.epoch(row)
    assert read_training_log(tmp_path / "live") == rows  # every float exactly
    assert read_json(tmp_path / "live" / "metrics.json") == {"train_loss": 1 / 3, "val_loss": 3.0, "step": 3}
    with pytest.raises(FacegenError, match="no training log found"):
        read_training_log(tmp_path / "none")


def test_a_grid_tiles_faces_row_by_row_with_white_between():
    faces = torch.stack([torch.full((1, 4, 4), v) for v in (0.0, 0.5, 1.0)])
    canvas = grid(faces, columns=2)
    assert canvas.shape == (2 * (4 + 2) + 2, 2 * (4 + 2) + 2) and canvas.dtype == np.uint8
    assert canvas[2, 2] == 0 and canvas[2, 8] == 128 and canvas[8, 2] == 255 and canvas[8, 8] == 255
    assert canvas[0, 0] == 255  # padding
