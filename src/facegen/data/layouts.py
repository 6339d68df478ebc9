"""Image layouts of a .mat variable: which axis orders a shape can be read in, how to
rearrange it to (N, C, H, W), and how its values map to uint8 gray levels."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from facegen import FacegenError

# Layouts by axis order. MATLAB stores column-major, so flattened images are unrolled
# column by column ("F" order) in both FLAT layouts.
LAYOUTS = ("HWCN", "HWN", "NHW", "NCHW", "NHWC", "FLAT_COLS", "FLAT_ROWS")

MIN_SIDE = 8  # smallest image side taken for an image: rules out vectors and label tables


def is_square(n: int) -> bool:
    """Whether ``n`` pixels can be one flattened square image."""
    return n >= MIN_SIDE**2 and math.isqrt(n) ** 2 == n


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
        if is_square(shape[0]):
            fits.append("FLAT_COLS")
        if is_square(shape[1]):
            fits.append("FLAT_ROWS")
        if len(fits) == 2 and image_size is not None and shape.count(image_size**2) == 1:
            fits = ["FLAT_COLS" if shape[0] == image_size**2 else "FLAT_ROWS"]
        return fits
    return []


def nchw_shape(shape: tuple[int, ...], layout: str) -> tuple[int, int, int, int] | None:
    """The (N, C, H, W) shape :func:`to_nchw` makes of an array of ``shape`` in ``layout``,
    or None where the layout does not fit it."""
    if layout in ("HWCN", "NCHW", "NHWC") and len(shape) == 4:
        order = {"HWCN": (3, 2, 0, 1), "NCHW": (0, 1, 2, 3), "NHWC": (0, 3, 1, 2)}[layout]
        return tuple(shape[i] for i in order)
    if layout in ("HWN", "NHW") and len(shape) == 3:
        return (shape[2], 1, shape[0], shape[1]) if layout == "HWN" else (shape[0], 1, shape[1], shape[2])
    if layout in ("FLAT_COLS", "FLAT_ROWS") and len(shape) == 2:
        pixels, count = shape if layout == "FLAT_COLS" else shape[::-1]
        if is_square(pixels):
            return (count, 1, math.isqrt(pixels), math.isqrt(pixels))
    return None


def to_nchw(array: np.ndarray, layout: str) -> np.ndarray:
    """Rearrange ``array`` from ``layout`` to (N, C, H, W) (a view)."""
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


def pixel_map(array: np.ndarray, path: Path, key: str) -> Callable[[np.ndarray], np.ndarray]:
    """How any part of ``array`` maps to uint8 0..255, decided once from the whole array's
    type and range (so a part maps as the whole would)."""
    if array.dtype == bool or (array.dtype.kind in "iu" and array.min() >= 0 and array.max() <= 1):
        # Logical masks (scipy and h5py read MATLAB logicals as uint8 0/1): 1 is white.
        return lambda part: part.astype(np.uint8) * 255
    if array.dtype == np.uint8:
        return np.asarray
    low, high = float(array.min()), float(array.max())  # NaN and Inf show in the extremes
    if not (math.isfinite(low) and math.isfinite(high)):
        bad = int((~np.isfinite(array)).sum())
        raise FacegenError(
            f"{path}: variable {key!r} holds {bad} NaN or Inf values; expected finite pixel values."
        )
    if array.dtype.kind == "f" and low >= 0.0 and high <= 1.0:
        offset, scale = 0.0, 255.0  # float images in [0, 1]
    elif low >= 0.0 and high <= 255.0:
        offset, scale = 0.0, 1.0
    else:  # integer data beyond 8 bits (uint16 ...) or any other range: stretched to 0..255
        offset, scale = low, 255.0 / max(high - low, 1e-12)

    def convert(part: np.ndarray) -> np.ndarray:
        values = part.astype(np.float64)
        if offset:
            values -= offset
        if scale != 1.0:
            values *= scale
        return np.clip(np.rint(values, out=values), 0, 255, out=values).astype(np.uint8)

    return convert
