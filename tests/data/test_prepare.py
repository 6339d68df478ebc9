import hashlib

import numpy as np
import pytest

from facegen import FacegenError
from facegen.config import DataConfig, PrepareConfig
from facegen.data.demo import orl_faces, to_ck_layout
from facegen.data.mat import find_images, mat_bytes
from facegen.data.prepare import check_memory, peak_memory, prepare_images, resize, split_indices
from facegen.process import GIB


def parts(n: int, **config) -> dict[str, np.ndarray]:
    return split_indices(n, PrepareConfig(**config))


def test_random_split_is_seeded_disjoint_and_complete():
    split = parts(100, split="random", val_fraction=0.1, test_fraction=0.2, seed=3)
    assert [len(split[p]) for p in ("train", "val", "test")] == [70, 10, 20]
    assert sorted(np.concatenate(list(split.values())).tolist()) == list(range(100))
    again = parts(100, split="random", val_fraction=0.1, test_fraction=0.2, seed=3)
    assert all(np.array_equal(split[p], again[p]) for p in split)
    other = parts(100, split="random", val_fraction=0.1, test_fraction=0.2, seed=4)
    assert not np.array_equal(split["val"], other["val"])


def test_subject_split_holds_out_whole_people():
    split = parts(400, split="subjects", group_size=10, val_fraction=0.1, test_fraction=0.1)
    people = {p: set((split[p] // 10).tolist()) for p in split}
    assert [len(people[p]) for p in ("train", "val", "test")] == [32, 4, 4]
    assert not (people["train"] & people["val"]) and not (people["train"] & people["test"])
    assert not (people["val"] & people["test"])
    assert all(len(split[p]) == 10 * len(people[p]) for p in split)  # all ten photos of each


def test_block_split_holds_out_the_end_of_the_file_in_order():
    split = parts(100, split="blocks", val_fraction=0.1, test_fraction=0.2)
    assert split["train"].tolist() == list(range(70))
    assert split["val"].tolist() == list(range(70, 80)) and split["test"].tolist() == list(range(80, 100))


@pytest.mark.parametrize(
    "n, config, message",
    [
        (
            95,
            {"split": "subjects", "group_size": 10},
            "95 images is not a multiple of prepare.group_size = 10",
        ),
        (20, {"split": "subjects", "group_size": 10}, "only 2 people: too few to hold out"),
        (2, {"split": "random"}, "only 2 images: too few"),
    ],
)
def test_impossible_splits_say_why(n, config, message):
    with pytest.raises(FacegenError, match=message):
        parts(n, **config)


def test_resize_to_64(tmp_path):
    images = np.zeros((2, 112, 92), np.uint8)
    images[:, 40:70, 30:60] = 200
    out = resize(images, 64)
    assert out.shape == (2, 64, 64) and out.dtype == np.uint8 and out.max() > 150


def test_prepare_records_what_it_decided(tmp_path):
    faces = orl_faces()[:50]
    path = tmp_path / "faces.mat"
    path.write_bytes(mat_bytes({"X": to_ck_layout(faces)}))
    config = PrepareConfig(split="subjects", group_size=10, val_fraction=0.2, test_fraction=0.2, seed=1)
    split, meta = prepare_images(DataConfig(mat_path=str(path)), config)
    assert [len(split[p]) for p in ("train", "val", "test")] == [30, 10, 10]
    assert meta["layout"] == "HWCN" and meta["variable"] == "X" and meta["count"] == 50
    assert (meta["train"], meta["val"], meta["test"]) == (30, 10, 10) and meta["seed"] == 1
    assert meta["split"] == "subjects" and len(meta["val_indices"]) == 10
    assert np.array_equal(split["val"], faces[meta["val_indices"]])
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
    prepare = PrepareConfig()
    reference = prepare_images(DataConfig(mat_path=str(olivetti_path)), prepare)[0]
    for name, variables in variants.items():
        scipy.io.savemat(tmp_path / name, variables)
        split, meta = prepare_images(DataConfig(mat_path=str(tmp_path / name)), prepare)
        assert all(np.array_equal(split[p], reference[p]) for p in reference), name
        assert meta["count"] == 400 and meta["train"] == 320, name


def test_memory_is_checked_against_the_peak_of_reading_resizing_and_splitting(tmp_path):
    ck = tmp_path / "ck.mat"
    ck.write_bytes(mat_bytes({"X": to_ck_layout(orl_faces()[:40])}))
    found = find_images(ck)
    assert peak_memory(found) == max(found.read_bytes, 2 * 40 * 64 * 64)  # 64x64 already: no resize
    big = tmp_path / "big.mat"
    big.write_bytes(mat_bytes({"X": np.zeros((128, 96, 1, 10), np.uint8)}))
    found_big = find_images(big)
    assert peak_memory(found_big) == max(found_big.read_bytes, 10 * (128 * 96 + 64 * 64))
    check_memory(found, peak_memory(found), available=None)  # the system does not say: go on
    check_memory(found, peak_memory(found), available=peak_memory(found))
    with pytest.raises(FacegenError) as error:
        check_memory(found, 3 * GIB, available=GIB)
    message = str(error.value)
    assert message.startswith(
        f"{ck}: variable 'X' of shape (64, 64, 1, 40) (uint8, 0.0 GiB) needs about 3.0 GiB"
    )
    assert "and 1.0 GiB are available; use a file with fewer faces, or a machine with more memory." in message
