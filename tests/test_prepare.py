import hashlib

import numpy as np

from facegen.config import DataConfig, PrepareConfig
from facegen.demo import orl_faces, to_ck_layout
from facegen.mat import mat_bytes
from facegen.prepare import prepare_images, resize, split


def test_split_is_seeded_disjoint_and_complete():
    images = np.arange(100, dtype=np.uint8)[:, None, None].repeat(4, 1).repeat(4, 2)
    train, val = split(images, 0.1, seed=3)
    assert len(train) == 90 and len(val) == 10
    ids = sorted(train[:, 0, 0].tolist() + val[:, 0, 0].tolist())
    assert ids == list(range(100))
    assert np.array_equal(split(images, 0.1, seed=3)[1], val)
    assert not np.array_equal(split(images, 0.1, seed=4)[1], val)


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
