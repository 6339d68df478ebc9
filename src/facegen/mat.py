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

log = logging.getLogger(__name__)

# Layouts by axis order. MATLAB stores column-major, so flattened images are unrolled
# column by column ("F" order) in both FLAT layouts.
LAYOUTS = ("HWCN", "HWN", "NHW", "NCHW", "NHWC", "FLAT_COLS", "FLAT_ROWS")
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


def _read_variables(path: Path) -> dict[str, np.ndarray]:
    """All numeric/logical arrays in a MAT v4/v5 or v7.3 (HDF5) file, by name."""
    if not path.exists():
        raise FacegenError(f"{path}: file not found; expected a MATLAB .mat file of face images.")
    if path.is_dir():
        raise FacegenError(f"{path}: is a directory; expected a MATLAB .mat file of face images.")
    if path.stat().st_size == 0:
        raise FacegenError(f"{path}: file is empty; expected a MATLAB .mat file of face images.")
    with open(path, "rb") as f:
        head = f.read(520)
    if head[512:520] == _HDF5_MAGIC or head[:8] == _HDF5_MAGIC:
        return _read_hdf5(path)
    try:
        raw = scipy.io.loadmat(path)
    except Exception as exc:  # scipy raises ValueError, TypeError, OSError ... for bad files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FacegenError(
            f"{path}: cannot be read as a MATLAB .mat file ({reason}); "
            "expected a .mat saved by MATLAB/Octave or scipy.io.savemat."
        ) from None
    return {
        k: v
        for k, v in raw.items()
        if not k.startswith("__") and isinstance(v, np.ndarray) and _is_numeric(v)
    }


def _read_hdf5(path: Path) -> dict[str, np.ndarray]:
    """MATLAB v7.3 files are HDF5; h5py returns MATLAB arrays with their axes reversed."""
    import h5py

    out: dict[str, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as f:
            for name, item in f.items():
                if name.startswith("#") or not isinstance(item, h5py.Dataset):
                    continue
                array = np.asarray(item[()])
                if _is_numeric(array):
                    if item.attrs.get("MATLAB_class", b"") == b"logical":
                        array = array.astype(bool)
                    out[name] = array.T  # back to MATLAB's (H, W, ..., N) order
    except OSError as exc:
        raise FacegenError(
            f"{path}: looks like a MATLAB v7.3 (HDF5) file but cannot be read ({exc}); "
            "expected an intact .mat file."
        ) from None
    return out


def _is_numeric(array: np.ndarray) -> bool:
    return array.dtype.kind in "biuf" and array.size > 0


MIN_SIDE = 8  # smallest image side taken for an image: rules out vectors and label tables


def _is_square(n: int) -> bool:
    """Whether ``n`` pixels can be one flattened square image."""
    return n >= MIN_SIDE**2 and math.isqrt(n) ** 2 == n


def choose_variable(variables: dict[str, np.ndarray], path: Path, key: str | None) -> str:
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
        k for k, v in variables.items() if v.ndim == 2 and (_is_square(v.shape[0]) or _is_square(v.shape[1]))
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


def fitting_layouts(shape: tuple[int, ...], image_size: int | None = None) -> list[str]:
    """Layouts a shape can be read in. More than one means the shape is ambiguous, except
    that for flattened images a side of exactly ``image_size``**2 pixels wins (a (4096, 400)
    array is 400 images of 64x64, not 4096 images of 20x20)."""
    if len(shape) == 4:
        fits = []
        if shape[2] in (1, 3) and min(shape[0], shape[1]) >= MIN_SIDE:
            fits.append("HWCN")
        if shape[1] in (1, 3) and min(shape[2], shape[3]) >= MIN_SIDE:
            fits.append("NCHW")
        if shape[3] in (1, 3) and min(shape[1], shape[2]) >= MIN_SIDE:
            fits.append("NHWC")
        return fits
    if len(shape) == 3:
        fits = []
        if shape[0] == shape[1]:
            fits.append("HWN")
        if shape[1] == shape[2]:
            fits.append("NHW")
        return fits
    if len(shape) == 2:
        fits = []
        if _is_square(shape[0]):
            fits.append("FLAT_COLS")
        if _is_square(shape[1]):
            fits.append("FLAT_ROWS")
        if len(fits) == 2 and image_size is not None and shape.count(image_size**2) == 1:
            fits = ["FLAT_COLS" if shape[0] == image_size**2 else "FLAT_ROWS"]
        return fits
    return []


def to_nchw(array: np.ndarray, layout: str) -> np.ndarray:
    """Rearrange ``array`` from ``layout`` to (N, C, H, W)."""
    if layout == "HWCN":
        return array.transpose(3, 2, 0, 1)
    if layout == "HWN":
        return array.transpose(2, 0, 1)[:, None]
    if layout == "NHW":
        return array[:, None]
    if layout == "NCHW":
        return array
    if layout == "NHWC":
        return array.transpose(0, 3, 1, 2)
    if layout in ("FLAT_COLS", "FLAT_ROWS"):
        flat = array if layout == "FLAT_ROWS" else array.T  # (N, H*W)
        side = math.isqrt(flat.shape[1])
        # Column-major unrolling: reshape to (N, W, H) then swap to (N, H, W).
        return flat.reshape(flat.shape[0], side, side).transpose(0, 2, 1)[:, None]
    raise ValueError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")


def to_uint8(array: np.ndarray, path: Path, key: str) -> np.ndarray:
    """Map any numeric or logical array to uint8 0..255."""
    if array.dtype == bool or (array.dtype.kind in "iu" and array.min() >= 0 and array.max() <= 1):
        # Logical masks (scipy loads MATLAB logicals as uint8 0/1): 1 is white.
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint8:
        return array
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).sum())
        raise FacegenError(
            f"{path}: variable {key!r} holds {bad} NaN or Inf values; expected finite pixel values."
        )
    low, high = float(values.min()), float(values.max())
    if array.dtype.kind == "f" and low >= 0.0 and high <= 1.0:
        values = values * 255.0  # float images in [0, 1]
    elif not (low >= 0.0 and high <= 255.0):
        # Integer data beyond 8 bits (uint16 ...) or any other range: stretch to 0..255.
        values = (values - low) * (255.0 / max(high - low, 1e-12))
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def load_mat(
    path: str | os.PathLike,
    key: str | None = None,
    layout: str | None = None,
    image_size: int = 64,
    grayscale: str = "refuse",
) -> MatImages:
    """Read the face images of a .mat file as uint8 (N, H, W), upright and in file order."""
    path = Path(path)
    variables = _read_variables(path)
    key = choose_variable(variables, path, key)
    array = variables[key]
    if layout is None:
        fits = fitting_layouts(array.shape, image_size)
        if not fits:
            raise FacegenError(
                f"{path}: variable {key!r} has shape {array.shape}, which is not an image layout; "
                f"expected one of {', '.join(LAYOUTS)} (set data.layout to say which)."
            )
        if len(fits) > 1:
            raise FacegenError(
                f"{path}: variable {key!r} of shape {array.shape} fits several layouts "
                f"({', '.join(fits)}); set data.layout in params.yaml to one of them."
            )
        layout = fits[0]
    nchw = to_nchw(array, layout)
    if nchw.shape[1] == 3:
        if grayscale != "convert":
            raise FacegenError(
                f"{path}: variable {key!r} holds colour images (3 channels); expected gray-scale "
                "faces (set data.grayscale: convert to convert them)."
            )
        log.info("converting colour to gray: 0.299 R + 0.587 G + 0.114 B")
        images = to_uint8(np.ascontiguousarray(nchw), path, key).astype(np.float32)
        images = np.rint(np.tensordot(LUMA, images, axes=([0], [1]))).astype(np.uint8)
    else:
        images = to_uint8(np.ascontiguousarray(nchw[:, 0]), path, key)
    return MatImages(
        images=images,
        key=key,
        layout=layout,
        source_dtype=str(array.dtype),
        source_shape=tuple(int(s) for s in array.shape),
        value_range=(float(array.min()), float(array.max())),
    )


def mat_bytes(variables: dict[str, np.ndarray]) -> bytes:
    """A MAT v5 file as bytes, with a fixed header so the same arrays give the same bytes
    (scipy writes the creation time into the header)."""
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables, do_compression=True)
    data = bytearray(buffer.getvalue())
    data[:116] = b"MATLAB 5.0 MAT-file, written by facegen".ljust(116)
    return bytes(data)
