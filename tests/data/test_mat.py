import numpy as np
import pytest
import scipy.io

from facegen import FacegenError
from facegen.data.demo import orl_faces, to_ck_layout
from facegen.data.layouts import fitting_layouts, to_nchw
from facegen.data.mat import CHUNK, find_images, list_variables, load_mat, mat_bytes, read_images

from mat_files import CLAIMED_SHAPE, save_v73, save_v73_claiming, v5_claiming


def faces(n: int = 5, size: int = 64) -> np.ndarray:
    """Distinct, asymmetric uint8 images: image i has value i in its top-left corner."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 200, size=(n, size, size), dtype=np.uint8)
    images[:, :8, :8] = 250  # a bright top-left corner tells up from down, left from right
    images[:, 0, 0] = np.arange(n)
    return images


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def test_ck_layout_roundtrip(tmp_path):
    images = faces()
    path = tmp_path / "ck.mat"
    path.write_bytes(mat_bytes({"X": to_ck_layout(images)}))
    loaded = load_mat(path)
    assert loaded.layout == "HWCN" and loaded.key == "X"
    assert np.array_equal(loaded.images, images)  # upright, same order
    assert loaded.describe() == "X: uint8 (64, 64, 1, 5), layout HWCN, 5 faces of 64x64"


def test_mat_bytes_is_reproducible():
    x = to_ck_layout(faces())
    assert mat_bytes({"X": x}) == mat_bytes({"X": x})


def test_flattened_columns_are_column_major(tmp_path):
    images = faces()
    # MATLAB's X(:, i) = img(:) unrolls each image column by column.
    columns = np.stack([img.flatten(order="F") for img in images], axis=1)  # (4096, N)
    path = tmp_path / "flat.mat"
    scipy.io.savemat(path, {"faces": columns})
    loaded = load_mat(path)
    assert loaded.layout == "FLAT_COLS"
    assert np.array_equal(loaded.images, images)


def test_olivetti_faces_load_upright(olivetti_path):
    loaded = load_mat(olivetti_path)
    assert loaded.key == "faces" and loaded.layout == "FLAT_COLS"
    assert loaded.images.shape == (400, 64, 64)
    raw = scipy.io.loadmat(olivetti_path)["faces"]
    assert np.array_equal(loaded.images[7], raw[:, 7].reshape(64, 64, order="F"))
    # Same 400 people as the ORL demo faces, read from PGM files (upright by format): the mean
    # faces match as they are, and far less when one is flipped or transposed.
    mean, reference = loaded.images.mean(0), orl_faces().mean(0)
    upright = correlation(mean, reference)
    assert upright > 0.6
    for wrong in (reference[::-1], reference.T, reference[::-1].T):
        assert correlation(mean, wrong) < upright - 0.2


def test_uint8_conversion_of_float_and_logical(tmp_path):
    images = faces()
    path = tmp_path / "float.mat"
    scipy.io.savemat(path, {"X": to_ck_layout(images).astype(np.float64) / 255.0})
    assert np.array_equal(load_mat(path).images, images)
    path = tmp_path / "bool.mat"
    scipy.io.savemat(path, {"X": to_ck_layout(images) > 127})
    assert set(np.unique(load_mat(path).images)) == {0, 255}


def test_picks_the_image_array_among_other_variables(tmp_path):
    path = tmp_path / "many.mat"
    scipy.io.savemat(path, {"labels": np.arange(5.0), "X": to_ck_layout(faces()), "ids": np.ones((5, 3))})
    assert load_mat(path).key == "X"
    with pytest.raises(FacegenError, match=r"no numeric variable named 'Y'.*X, ids, labels"):
        load_mat(path, key="Y")


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "file not found"),
        (b"", "file is empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "cannot be read as a MATLAB .mat file"),
    ],
)
def test_bad_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "faces.mat"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FacegenError, match=message) as error:
        load_mat(path)
    assert str(path) in str(error.value)


def test_no_image_array(tmp_path):
    path = tmp_path / "labels.mat"
    scipy.io.savemat(path, {"labels": np.arange(10.0)})
    with pytest.raises(FacegenError, match="no image array found"):
        load_mat(path)


def test_nan_is_refused(tmp_path):
    x = to_ck_layout(faces()).astype(float)
    x[3, 3, 0, 1] = np.nan
    path = tmp_path / "nan.mat"
    scipy.io.savemat(path, {"X": x})
    with pytest.raises(FacegenError, match="NaN or Inf"):
        load_mat(path)


def test_ambiguous_cube_needs_a_layout(tmp_path):
    cube = np.zeros((64, 64, 64), np.uint8)
    assert fitting_layouts(cube.shape) == ["HWN", "NHW"]
    path = tmp_path / "cube.mat"
    scipy.io.savemat(path, {"X": cube})
    with pytest.raises(FacegenError, match=r"fits several layouts \(HWN, NHW\).*data.layout"):
        load_mat(path)
    assert load_mat(path, layout="HWN").images.shape == (64, 64, 64)


@pytest.mark.parametrize("layout", ["HWCN", "HWN", "NHW", "NCHW", "NHWC", "FLAT_COLS", "FLAT_ROWS"])
def test_every_layout_rearranges_to_the_same_images(layout):
    images = faces(3, 16)
    stored = {
        "HWCN": to_ck_layout(images),
        "HWN": images.transpose(1, 2, 0),
        "NHW": images,
        "NCHW": images[:, None],
        "NHWC": images[..., None],
        "FLAT_COLS": np.stack([i.flatten(order="F") for i in images], 1),
        "FLAT_ROWS": np.stack([i.flatten(order="F") for i in images], 0),
    }[layout]
    assert np.array_equal(to_nchw(stored, layout)[:, 0], images)


def test_matlab_v73_hdf5(tmp_path):
    images = faces()
    path = tmp_path / "v73.mat"
    save_v73(path, {"X": to_ck_layout(images), "labels": np.arange(5, dtype=np.uint8)[None]})
    loaded = load_mat(path)
    assert loaded.key == "X" and loaded.layout == "HWCN"
    assert np.array_equal(loaded.images, images)


def test_truncated_files(tmp_path):
    whole = mat_bytes({"X": to_ck_layout(faces())})
    path = tmp_path / "cut.mat"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(FacegenError, match=r"cannot be read as a MATLAB \.mat file"):
        load_mat(path)
    v73 = tmp_path / "v73.mat"
    save_v73(v73, {"X": to_ck_layout(faces())})
    v73.write_bytes(v73.read_bytes()[:1500])
    with pytest.raises(FacegenError, match=str(v73)):
        load_mat(v73)


def test_colour_is_refused_or_converted(tmp_path):
    rgb = np.zeros((64, 64, 3, 2), np.uint8)  # HWCN with 3 channels
    rgb[:, :, 0] = 200  # pure red
    path = tmp_path / "rgb.mat"
    scipy.io.savemat(path, {"X": rgb})
    with pytest.raises(FacegenError, match=r"colour images \(3 channels\).*data.grayscale: convert"):
        load_mat(path)
    gray = load_mat(path, grayscale="convert").images
    assert gray.shape == (2, 64, 64) and (gray == 60).all()  # 0.299 * 200


@pytest.mark.parametrize(
    "scale, dtype",
    [(1.0, np.float32), (255.0, np.float64), (255.0, np.uint8), (257.0, np.uint16), (255.0, np.int32)],
)
def test_numeric_types_map_to_the_same_uint8(tmp_path, scale, dtype):
    images = faces()
    images[:, -1, -1] = 255  # full range, so stretched types map back exactly
    stored = to_ck_layout(images).astype(np.float64) / 255.0 * scale
    stored = (stored if np.dtype(dtype).kind == "f" else np.rint(stored)).astype(dtype)
    path = tmp_path / "typed.mat"
    scipy.io.savemat(path, {"X": stored})
    assert np.array_equal(load_mat(path).images, images)


def test_signed_data_is_stretched(tmp_path):
    x = np.linspace(-1000, 1000, 64 * 64 * 2).reshape(64, 64, 1, 2).astype(np.int16)
    path = tmp_path / "signed.mat"
    scipy.io.savemat(path, {"X": x})
    images = load_mat(path).images
    assert images.min() == 0 and images.max() == 255


@pytest.mark.parametrize("kind", ["v5", "v5-compressed", "v7.3"])
def test_headers_describe_an_array_without_reading_it(tmp_path, kind):
    """Files of a few hundred bytes whose headers claim 8 TiB: listing them reads no pixel."""
    path = tmp_path / "claims.mat"
    if kind == "v7.3":
        save_v73_claiming(path)
    else:
        path.write_bytes(v5_claiming(compressed=kind == "v5-compressed"))
    assert path.stat().st_size < 4096
    (variable,) = list_variables(path).values()
    assert variable.shape == CLAIMED_SHAPE and variable.dtype == np.uint8
    assert variable.nbytes == 64 * 64 * CLAIMED_SHAPE[3]
    found = find_images(path)
    assert found.key == "X" and found.layout == "HWCN" and found.shape == (CLAIMED_SHAPE[3], 1, 64, 64)


def test_a_layout_that_does_not_fit_the_shape_is_refused_before_reading(tmp_path):
    path = tmp_path / "cube.mat"
    scipy.io.savemat(path, {"X": np.zeros((64, 64, 10), np.uint8)})
    with pytest.raises(FacegenError, match=r"shape \(64, 64, 10\) cannot be read in layout HWCN.*fits HWN"):
        load_mat(path, layout="HWCN")


@pytest.mark.parametrize(
    "dtype, save",
    [(np.uint8, "v5"), (np.float64, "v5"), (np.int16, "v5"), (np.uint8, "v7.3"), (np.float32, "v7.3")],
)
def test_reading_stays_within_its_memory_estimate(tmp_path, dtype, save):
    """What :attr:`ImageArray.read_bytes` promises holds: tracemalloc (which sees numpy's,
    scipy's and h5py's buffers) measures the peak of reading 3 000 faces, more than two
    chunks of conversion, in each type."""
    import tracemalloc

    images = faces(2 * CHUNK + 952)
    stored = to_ck_layout(images).astype(dtype)
    path = tmp_path / "faces.mat"
    if save == "v7.3":
        import h5py

        with h5py.File(path, "w") as f:
            f.create_dataset("X", data=np.ascontiguousarray(stored.T))
    else:
        scipy.io.savemat(path, {"X": stored}, do_compression=True)
    found = find_images(path)
    tracemalloc.start()
    try:
        loaded = read_images(found)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.array_equal(loaded.images, images)
    assert found.variable.nbytes <= peak <= found.read_bytes
