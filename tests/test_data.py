import hashlib

import numpy as np
import torch

from facegen.config import DataConfig, PrepareConfig
from facegen.data import (
    load_prepared,
    orl_faces,
    prepare_images,
    resize,
    save_prepared,
    split,
    to_ck_layout,
    to_float,
)
from facegen.mat import mat_bytes


def test_orl_demo_faces():
    faces = orl_faces(image_size=64)
    assert faces.shape == (400, 64, 64) and faces.dtype == np.uint8
    # Ten different photos per subject, subjects in order: neighbours within a subject
    # look more alike than the same photo index of another subject.
    f = faces.astype(float)
    same = np.abs(f[0] - f[1]).mean()
    other = np.abs(f[0] - f[10]).mean()
    assert same < other
    mean = f.mean(0)
    assert mean[20:30].mean() < mean[34:44].mean()  # eyes above cheeks: upright


def test_split_is_seeded_disjoint_and_complete():
    images = np.arange(100, dtype=np.uint8)[:, None, None].repeat(4, 1).repeat(4, 2)
    train, val = split(images, 0.1, seed=3)
    assert len(train) == 90 and len(val) == 10
    ids = sorted(train[:, 0, 0].tolist() + val[:, 0, 0].tolist())
    assert ids == list(range(100))
    assert np.array_equal(split(images, 0.1, seed=3)[1], val)
    assert not np.array_equal(split(images, 0.1, seed=4)[1], val)


def test_prepared_roundtrip_keeps_uint8(tmp_path):
    train = np.random.default_rng(0).integers(0, 256, (6, 64, 64), dtype=np.uint8)
    val = train[:2]
    save_prepared(tmp_path, train, val, {"seed": 0})
    loaded_train, loaded_val = load_prepared(tmp_path)
    assert loaded_train.dtype == torch.uint8 and loaded_train.shape == (6, 1, 64, 64)
    assert np.array_equal(loaded_train[:, 0].numpy(), train)
    batch = to_float(loaded_val)
    assert batch.dtype == torch.float32 and batch.min() >= 0 and batch.max() <= 1
    assert list(tmp_path.iterdir()) and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_resize_to_64(tmp_path):
    images = np.zeros((2, 112, 92), np.uint8)
    images[:, 40:70, 30:60] = 200
    out = resize(images, 64)
    assert out.shape == (2, 64, 64) and out.dtype == np.uint8 and out.max() > 150


def test_prepare_records_what_it_decided(tmp_path):
    faces = orl_faces()[:50]
    path = tmp_path / "faces.mat"
    path.write_bytes(mat_bytes({"X": to_ck_layout(faces)}))
    train, val, meta = prepare_images(DataConfig(mat_path=str(path)), PrepareConfig(val_fraction=0.2, seed=1))
    assert (len(train), len(val)) == (40, 10)
    assert meta["layout"] == "HWCN" and meta["variable"] == "X" and meta["count"] == 50
    assert meta["train"] == 40 and meta["val"] == 10 and meta["seed"] == 1
    assert meta["source"] == str(path) and meta["source_dtype"] == "uint8"
    assert meta["source_shape"] == [64, 64, 1, 50]
    assert meta["value_range"] == [float(faces.min()), float(faces.max())]
    assert meta["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_same_faces_in_other_layouts_prepare_identically(tmp_path, olivetti_path):
    import scipy.io

    flat = scipy.io.loadmat(olivetti_path)["faces"]  # (4096, 400), column-major columns
    upright = flat.T.reshape(400, 64, 64).transpose(0, 2, 1)
    variants = {
        "rows.mat": {"faces": np.ascontiguousarray(flat.T)},
        "ck.mat": {"X": to_ck_layout(upright), "subject": np.repeat(np.arange(40), 10)[None]},
        "nhw.mat": {"X": upright.astype(np.float64) / 255.0},
    }
    prepare = PrepareConfig(val_fraction=0.1, seed=0)
    reference = prepare_images(DataConfig(mat_path=str(olivetti_path)), prepare)
    for name, variables in variants.items():
        scipy.io.savemat(tmp_path / name, variables)
        train, val, meta = prepare_images(DataConfig(mat_path=str(tmp_path / name)), prepare)
        assert np.array_equal(train, reference[0]) and np.array_equal(val, reference[1]), name
        assert meta["count"] == 400 and meta["train"] == 360, name
