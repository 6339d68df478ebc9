import numpy as np
import pytest
import torch

from facegen import FacegenError
from facegen.data import load_prepared, save_prepared, to_float


def test_prepared_roundtrip_keeps_uint8(tmp_path):
    train = np.random.default_rng(0).integers(0, 256, (6, 64, 64), dtype=np.uint8)
    save_prepared(tmp_path, {"train": train, "val": train[:2], "test": train[2:5]}, {"seed": 0})
    faces = load_prepared(tmp_path)
    assert faces.train.dtype == torch.uint8 and faces.train.shape == (6, 1, 64, 64)
    assert np.array_equal(faces.train[:, 0].numpy(), train)
    assert faces.test.shape == (3, 1, 64, 64) and np.array_equal(faces.test[:, 0].numpy(), train[2:5])
    batch = to_float(faces.val)
    assert batch.dtype == torch.float32 and batch.min() >= 0 and batch.max() <= 1
    assert list(tmp_path.iterdir()) and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_missing_prepared_tensors_name_the_stage(tmp_path):
    with pytest.raises(FacegenError, match=r"train.npy: not found; run the 'prepare' stage first"):
        load_prepared(tmp_path)
