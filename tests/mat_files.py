""".mat files as MATLAB writes them, and small files that claim arrays far larger than any
machine's memory, for tests of what `prepare` reads and refuses."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

# 64 x 64 x 1 x 2 000 000 000 uint8: 8 TiB, more than any machine's memory, in a small file.
CLAIMED_FACES = 2_000_000_000
CLAIMED_SHAPE = (64, 64, 1, CLAIMED_FACES)


def save_v73(path: Path, variables: dict[str, np.ndarray]) -> None:
    """A MATLAB v7.3 file as MATLAB writes it: HDF5 behind a 512-byte header, every array
    stored with its axes reversed (MATLAB is column-major)."""
    import h5py

    with h5py.File(path, "w", userblock_size=512) as f:
        for name, array in variables.items():
            dataset = f.create_dataset(name, data=np.ascontiguousarray(array.T))
            dataset.attrs["MATLAB_class"] = np.bytes_("logical" if array.dtype == bool else "uint8")
    _write_v73_header(path)


def _write_v73_header(path: Path) -> None:
    with open(path, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116))


def save_v73_claiming(path: Path, shape: tuple[int, ...] = CLAIMED_SHAPE) -> None:
    """A v7.3 file whose uint8 variable ``X`` of MATLAB ``shape`` is chunked and never
    written: a few KB on disk, and HDF5 returns its fill value for every chunk."""
    import h5py

    with h5py.File(path, "w", userblock_size=512) as f:
        dataset = f.create_dataset("X", shape=shape[::-1], dtype=np.uint8, chunks=(1, 1, 64, 64))
        dataset.attrs["MATLAB_class"] = np.bytes_("uint8")
    _write_v73_header(path)


def _element(data_type: int, payload: bytes) -> bytes:
    """A MAT v5 data element: tag (type, byte count), payload padded to 8 bytes."""
    return struct.pack("<II", data_type, len(payload)) + payload + b"\0" * (-len(payload) % 8)


def v5_claiming(shape: tuple[int, ...] = CLAIMED_SHAPE, compressed: bool = False) -> bytes:
    """A MAT v5 file whose uint8 variable ``X`` has a header claiming ``shape``, and no pixel
    data behind it; ``compressed``: inside a zlib-compressed element, as MATLAB saves by
    default (it would inflate to the whole array)."""
    header = b"MATLAB 5.0 MAT-file, claims more than it holds".ljust(116) + b"\0" * 8 + b"\x00\x01IM"
    flags = _element(6, struct.pack("<II", 9, 0))  # miUINT32: class mxUINT8_CLASS
    dims = _element(5, struct.pack(f"<{len(shape)}i", *shape))  # miINT32
    name = _element(1, b"X")  # miINT8
    pixels = struct.pack("<II", 2, 0xFFFFFFF0)  # miUINT8 tag claiming ~4 GB; no data follows
    body = flags + dims + name + pixels
    matrix = struct.pack("<II", 14, len(body)) + body  # miMATRIX
    if compressed:
        return header + _element(15, zlib.compress(matrix))  # miCOMPRESSED
    return header + matrix
