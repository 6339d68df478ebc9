"""Judges that see faces as a person does, trained by others on real photographs: dlib's HOG
frontal face detector (Dalal and Triggs 2005: histograms of oriented gradients and a linear
SVM), and dlib's face-recognition ResNet, which maps a face to a 128-d embedding in which
photographs of one person lie close together (about 0.6 apart at most, by its authors'
threshold).

Each 64x64 face is resized bicubically to 160x160 (the detector's smallest face is about
80 px) and the detector runs with one upsampling, ``detector(image, 1)``; a face counts as
found when it returns at least one detection. The embedding aligns the face with the 5-point
landmark model run on the whole crop (the faces are tight crops already) and embeds it.

Both are single-threaded C++: :class:`FaceJudges` runs them in worker processes, as many as
the CPUs no other process keeps busy (:func:`facegen.process.cpu_share`), so their work goes
on beside the caller's (the rest of ``evaluate``), and hands back futures. The workers are
forked from a fresh server process (``forkserver``; ``spawn`` where there is none), never
from the caller, whose torch threads may be running: a fork taken while other threads hold
locks can deadlock.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from facegen import FacegenError
from facegen.process import cpu_share
from facegen.progress import progress

if TYPE_CHECKING:
    import torch

DETECTOR_SIZE = 160  # px the 64x64 faces are resized to before detection and alignment
UPSAMPLE = 1  # detector(image, 1): one pyramid level up
EMBEDDING_DIM = 128
LANDMARKS = "shape_predictor_5_face_landmarks.dat"
RECOGNITION = "dlib_face_recognition_resnet_model_v1.dat"


def model_files() -> dict[str, Path]:
    """The landmark and recognition models inside the installed ``face_recognition_models``
    wheel, found without importing it (its ``__init__`` imports ``pkg_resources``, which
    current setuptools no longer ships)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FacegenError(
            "the 'face_recognition_models' package is not installed; it carries dlib's face "
            "models (pip install -e . installs it)."
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    files = {"landmarks": folder / LANDMARKS, "recognition": folder / RECOGNITION}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise FacegenError(
            f"dlib's face models are missing: {', '.join(missing)}; reinstall face-recognition-models."
        )
    return files


def to_detector_images(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N, 1, 64, 64) faces, float in [0, 1] or uint8, -> (N, 160, 160) uint8, bicubic."""
    from PIL import Image

    if not isinstance(images, np.ndarray):  # a torch tensor (torch is not imported in the workers)
        images = images.detach().cpu().numpy()
    if images.dtype != np.uint8:
        images = np.rint(np.clip(images, 0, 1) * 255).astype(np.uint8)
    size = (DETECTOR_SIZE, DETECTOR_SIZE)
    return np.stack([np.asarray(Image.fromarray(face).resize(size, Image.BICUBIC)) for face in images[:, 0]])


_models: dict[str, Any] = {}  # each process's dlib models, loaded once


def _load() -> dict[str, Any]:
    if not _models:
        import dlib

        files = model_files()
        _models["detector"] = dlib.get_frontal_face_detector()
        _models["landmarks"] = dlib.shape_predictor(str(files["landmarks"]))
        _models["recognition"] = dlib.face_recognition_model_v1(str(files["recognition"]))
        _models["crop"] = dlib.rectangle(0, 0, DETECTOR_SIZE - 1, DETECTOR_SIZE - 1)
    return _models


def detected(images: np.ndarray) -> np.ndarray:
    """(N,) bool: whether the detector finds a face in each (N, 160, 160) uint8 image."""
    detector = _load()["detector"]
    return np.array([len(detector(image, UPSAMPLE)) > 0 for image in images], dtype=bool)


def embeddings(images: np.ndarray) -> np.ndarray:
    """(N, 128) float32 identity embeddings of (N, 160, 160) uint8 gray faces."""
    models = _load()
    out = np.empty((len(images), EMBEDDING_DIM), dtype=np.float32)
    for i, image in enumerate(images):
        rgb = np.repeat(image[:, :, None], 3, axis=2)  # the network takes colour
        shape = models["landmarks"](rgb, models["crop"])
        out[i] = np.asarray(models["recognition"].compute_face_descriptor(rgb, shape))
    return out


def nearest_identity_distance(queries: np.ndarray, references: np.ndarray) -> np.ndarray:
    """(N,) Euclidean distance from each query embedding to its nearest reference one."""
    queries, references = queries.astype(np.float64), references.astype(np.float64)
    squared = (queries**2).sum(1)[:, None] - 2 * queries @ references.T + (references**2).sum(1)[None]
    nearest = references[squared.argmin(1)]  # then exactly, without the expansion's cancellation
    return np.sqrt(((queries - nearest) ** 2).sum(1))


class Pending:
    """The result of a batch the judges are still working on, in parts."""

    def __init__(self, parts: list[Future]) -> None:
        self.parts = parts

    def result(self) -> np.ndarray:
        """The whole batch's result, once every part is done (a worker's error is raised here)."""
        return np.concatenate([part.result() for part in self.parts])


def wait(pending: list[Pending], desc: str) -> None:
    """Wait until every part of ``pending`` is done, showing the stage's progress."""
    parts = [part for batch in pending for part in batch.parts]
    waiting = [part for part in parts if not part.done()]
    with progress(len(parts), "batch", desc, done=len(parts) - len(waiting)) as bar:
        for _ in as_completed(waiting):
            bar.update()


class FaceJudges:
    """The detector and the embedding in ``workers`` processes (default: one per CPU no other
    process keeps busy), each loading dlib's models once; use as a context manager. Every call
    takes a batch of faces (see :func:`to_detector_images`) and returns a :class:`Pending` result at once, so
    the caller computes on while the judges work."""

    def __init__(self, workers: int | None = None, chunk: int = 32) -> None:
        self.workers = workers or cpu_share()
        self.chunk = chunk  # faces per job: small enough to keep every worker busy
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> FaceJudges:
        model_files()  # a missing package fails here, in one sentence, not in a worker
        if "forkserver" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("forkserver")
            # The server imports this module once; each worker forks from it with it loaded.
            context.set_forkserver_preload([__name__])
        else:
            context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_load)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._pool is not None
        self._pool.shutdown(cancel_futures=True)
        self._pool = None

    def _map(self, function: Any, images: torch.Tensor | np.ndarray) -> Pending:
        if self._pool is None:
            raise RuntimeError("use FaceJudges as a context manager")
        prepared = to_detector_images(images)
        chunks = range(0, len(prepared), self.chunk)
        return Pending([self._pool.submit(function, prepared[i : i + self.chunk]) for i in chunks])

    def detected(self, images: torch.Tensor | np.ndarray) -> Pending:
        """(N,) bool, to come: which faces the detector finds."""
        return self._map(detected, images)

    def embeddings(self, images: torch.Tensor | np.ndarray) -> Pending:
        """(N, 128) float32, to come: the faces' identity embeddings."""
        return self._map(embeddings, images)
