"""Reading face images from MATLAB .mat files, whatever layout they were saved in.

Everything here returns images as a uint8 array of shape (N, H, W), upright, in file order.
"""

from __future__ import annotations

import io
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

from facegen import FacegenError
from facegen.data.layouts import LAYOUTS, fitting_layouts, is_square, nchw_shape, pixel_map, to_nchw

log = logging.getLogger(__name__)

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601 weights of R, G, B


@dataclass(frozen=True)
class MatImages:
    """Images read from a .mat file and what detection decided about them."""

    images: np.ndarray  # (N, H, W) uint8, upright
    key: str
    layout: str
    source_dtype: str
    source_shape: tuple[int, ...]
    value_range: tuple[float, float]

    def describe(self) -> str:
        n, h, w = self.images.shape
        return (
            f"{self.key}: {self.source_dtype} {self.source_shape}, layout {self.layout}, {n} faces of {h}x{w}"
        )


# The numpy type scipy.io.loadmat gives each numeric MATLAB class, at most: a class saved in
# a narrower type (MATLAB may store whole-number doubles as uint8) is read in that type.
MATLAB_CLASSES = {
    name: np.dtype(name)
    for name in ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]
} | {"double": np.dtype(np.float64), "single": np.dtype(np.float32), "logical": np.dtype(np.uint8)}


@dataclass(frozen=True)
class Variable:
    """A numeric array in a .mat file as its header describes it, before it is read: its
    MATLAB shape (H, W, ..., N order) and the type it will be read in (at most)."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize


def _is_hdf5(path: Path) -> bool:
    """Refuse what is no file at all; True for MATLAB v7.3 (HDF5), False for v4/v5."""
    if not path.exists():
        raise FacegenError(f"{path}: file not found; expected a MATLAB .mat file of face images.")
    if path.is_dir():
        raise FacegenError(f"{path}: is a directory; expected a MATLAB .mat file of face images.")
    if path.stat().st_size == 0:
        raise FacegenError(f"{path}: file is empty; expected a MATLAB .mat file of face images.")
    with open(path, "rb") as f:
        head = f.read(520)
    return head[512:520] == _HDF5_MAGIC or head[:8] == _HDF5_MAGIC


def _unreadable(path: Path, exc: Exception, hdf5: bool) -> FacegenError:
    if hdf5:
        return FacegenError(
            f"{path}: looks like a MATLAB v7.3 (HDF5) file but cannot be read ({exc}); "
            "expected an intact .mat file."
        )
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return FacegenError(
        f"{path}: cannot be read as a MATLAB .mat file ({reason}); "
        "expected a .mat saved by MATLAB/Octave or scipy.io.savemat."
    )


def list_variables(path: Path) -> dict[str, Variable]:
    """The numeric arrays of a MAT v4/v5 or v7.3 (HDF5) file, by name, from their headers
    alone: no array is read (a compressed v5 element is inflated only as far as its header)."""
    hdf5 = _is_hdf5(path)
    try:
        if hdf5:
            import h5py

            with h5py.File(path, "r") as f:
                found = {  # h5py lists MATLAB's axes reversed
                    name: Variable(tuple(int(s) for s in reversed(item.shape)), item.dtype)
                    for name, item in f.items()
                    if not name.startswith("#") and isinstance(item, h5py.Dataset)
                }
        else:
            found = {
                name: Variable(tuple(int(s) for s in shape), MATLAB_CLASSES[kind])
                for name, shape, kind in scipy.io.whosmat(path)
                if kind in MATLAB_CLASSES
            }
    except Exception as exc:  # scipy and h5py raise ValueError, TypeError, OSError ... for bad files
        raise _unreadable(path, exc, hdf5) from None
    return {name: v for name, v in found.items() if v.dtype.kind in "biuf" and v.size > 0}


def read_variable(path: Path, key: str) -> np.ndarray:
    """The array ``key`` of a .mat file, in MATLAB's (H, W, ..., N) axis order. A MATLAB
    logical comes as uint8 0/1, which :func:`~facegen.data.layouts.pixel_map` reads as a mask."""
    hdf5 = _is_hdf5(path)
    try:
        if hdf5:
            import h5py

            with h5py.File(path, "r") as f:
                return np.asarray(f[key][()]).T  # .T: MATLAB's axis order again (a view)
        return scipy.io.loadmat(path, variable_names=[key])[key]
    except Exception as exc:
        raise _unreadable(path, exc, hdf5) from None


def choose_variable(variables: dict[str, Variable], path: Path, key: str | None) -> str:
    """The image variable: ``key`` when given, else the largest 3-d/4-d array, else a 2-d
    array with a square side (flattened images)."""
    if key is not None:
        if key not in variables:
            found = ", ".join(sorted(variables)) or "none"
            raise FacegenError(
                f"{path}: no numeric variable named {key!r} (data.key); numeric variables: {found}."
            )
        return key
    candidates = [k for k, v in variables.items() if v.ndim in (3, 4)]
    candidates += [
        k for k, v in variables.items() if v.ndim == 2 and (is_square(v.shape[0]) or is_square(v.shape[1]))
    ]
    if not candidates:
        found = ", ".join(f"{k} {v.shape}" for k, v in variables.items()) or "none"
        raise FacegenError(
            f"{path}: no image array found (numeric variables: {found}); expected a 3-d or 4-d "
            "array of images, or a 2-d array of flattened square images."
        )
    chosen = max(candidates, key=lambda k: (variables[k].ndim >= 3, variables[k].size))
    if len(variables) > 1:
        others = ", ".join(sorted(k for k in variables if k != chosen))
        log.info("using variable %r, the largest image array (also in the file: %s)", chosen, others)
    return chosen


CHUNK = 1024  # images converted at a time: float64 copies of a part, never of the whole file


@dataclass(frozen=True)
class ImageArray:
    """The image variable of a .mat file and how it will be read, decided from its header
    before anything is read (see :func:`find_images`)."""

    path: Path
    key: str
    variable: Variable
    layout: str
    shape: tuple[int, int, int, int]  # (N, C, H, W) after the layout

    @property
    def gray_bytes(self) -> int:
        """The uint8 (N, H, W) faces read from it."""
        count, _, height, width = self.shape
        return count * height * width

    @property
    def read_bytes(self) -> int:
        """Memory that reading takes at its peak: the array as read, the uint8 faces made of
        it, and one part's float64 and float32 working copies."""
        _, channels, height, width = self.shape
        return self.variable.nbytes + self.gray_bytes + CHUNK * channels * height * width * 16


def find_images(
    path: str | os.PathLike,
    key: str | None = None,
    layout: str | None = None,
    image_size: int = 64,
    grayscale: str = "refuse",
) -> ImageArray:
    """Choose the image variable of a .mat file and its layout from the file's headers, and
    refuse what cannot be read, without reading any array."""
    path = Path(path)
    variables = list_variables(path)
    key = choose_variable(variables, path, key)
    shape = variables[key].shape
    if layout is None:
        fits = fitting_layouts(shape, image_size)
        if not fits:
            raise FacegenError(
                f"{path}: variable {key!r} has shape {shape}, which is not an image layout; "
                f"expected one of {', '.join(LAYOUTS)} (set data.layout to say which)."
            )
        if len(fits) > 1:
            raise FacegenError(
                f"{path}: variable {key!r} of shape {shape} fits several layouts "
                f"({', '.join(fits)}); set data.layout in params.yaml to one of them."
            )
        layout = fits[0]
    nchw = nchw_shape(shape, layout)
    if nchw is None:
        raise FacegenError(
            f"{path}: variable {key!r} of shape {shape} cannot be read in layout {layout} (data.layout); "
            f"it fits {', '.join(fitting_layouts(shape, image_size)) or 'no image layout'}."
        )
    if nchw[1] == 3 and grayscale != "convert":
        raise FacegenError(
            f"{path}: variable {key!r} holds colour images (3 channels); expected gray-scale "
            "faces (set data.grayscale: convert to convert them)."
        )
    return ImageArray(path, key, variables[key], layout, nchw)


def read_images(found: ImageArray) -> MatImages:
    """Read the faces :func:`find_images` found as uint8 (N, H, W), upright, in file order,
    converted :data:`CHUNK` images at a time (colour to gray: ITU-R BT.601 luma)."""
    array = read_variable(found.path, found.key)
    nchw = to_nchw(array, found.layout)
    convert = pixel_map(array, found.path, found.key)
    count, channels, height, width = nchw.shape
    if channels == 3:
        log.info("converting colour to gray: 0.299 R + 0.587 G + 0.114 B")
    if convert is np.asarray and channels == 1 and nchw[:, 0].flags.c_contiguous:
        images = nchw[:, 0]  # uint8 and in order already (a v7.3 file's N x 1 x H x W): no copy
    else:
        images = np.empty((count, height, width), dtype=np.uint8)
        for start in range(0, count, CHUNK):
            part = convert(nchw[start : start + CHUNK])  # (n, C, H, W) uint8
            if channels == 3:
                gray = np.tensordot(LUMA, part.astype(np.float32), axes=([0], [1]))
                images[start : start + CHUNK] = np.rint(gray).astype(np.uint8)
            else:
                images[start : start + CHUNK] = part[:, 0]
    return MatImages(
        images=images,
        key=found.key,
        layout=found.layout,
        source_dtype=str(array.dtype),
        source_shape=tuple(int(s) for s in array.shape),
        value_range=(float(array.min()), float(array.max())),
    )


def load_mat(
    path: str | os.PathLike,
    key: str | None = None,
    layout: str | None = None,
    image_size: int = 64,
    grayscale: str = "refuse",
) -> MatImages:
    """Read the face images of a .mat file as uint8 (N, H, W), upright and in file order."""
    return read_images(find_images(path, key, layout, image_size, grayscale))


def mat_bytes(variables: dict[str, np.ndarray]) -> bytes:
    """A MAT v5 file as bytes, with a fixed header so the same arrays give the same bytes
    (scipy writes the creation time into the header)."""
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables, do_compression=True)
    data = bytearray(buffer.getvalue())
    data[:116] = b"MATLAB 5.0 MAT-file, written by facegen".ljust(116)
    return bytes(data)
