"""The pipeline's front: from a user's ``.mat`` (or the ORL demo faces) to prepared faces.

- :mod:`~facegen.data.mat`: reading any MAT file from its headers first; :mod:`~facegen.data.layouts`:
  the layouts and value ranges it accepts.
- :mod:`~facegen.data.demo`: the 400 AT&T/ORL faces in CK's layout.
- :mod:`~facegen.data.prepare`: resize, split, the memory check, the record of what was decided.

The prepared faces themselves are a file format every later stage reads (:mod:`facegen.io`).
"""

from facegen.data.demo import orl_faces, to_ck_layout
from facegen.data.mat import find_images, load_mat, mat_bytes, read_images
from facegen.data.prepare import prepare_images

__all__ = [
    "find_images",
    "load_mat",
    "mat_bytes",
    "orl_faces",
    "prepare_images",
    "read_images",
    "to_ck_layout",
]
