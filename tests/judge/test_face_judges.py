"""The face judges on real faces and on things that are not faces."""

import subprocess
import sys

import numpy as np
import pytest

from facegen.data.demo import orl_faces
from facegen.judge.face_judges import (
    DETECTOR_SIZE,
    FaceJudges,
    detected,
    embeddings,
    model_files,
    nearest_identity_distance,
    to_detector_images,
)
from facegen.process import available_cpus


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    return orl_faces()[:, None]  # uint8 (400, 1, 64, 64): 40 people x 10 photographs


def test_real_faces_are_found_and_flat_gray_or_noise_are_not(faces):
    found = detected(to_detector_images(faces[::4]))  # 100 faces, every person
    assert 0.7 <= found.mean() <= 0.92  # all 400: 0.81
    gray = np.full((2, 1, 64, 64), 128, np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, (8, 1, 64, 64), dtype=np.uint8)
    assert not detected(to_detector_images(np.concatenate([gray, noise]))).any()


def test_identity_is_near_for_a_mirror_image_and_far_for_another_person(faces):
    people = faces[[0, 10, 20, 30, 40]]  # the first photograph of five people
    mirrored = np.ascontiguousarray(people[..., ::-1])
    own, mirror = embeddings(to_detector_images(people)), embeddings(to_detector_images(mirrored))
    assert own.shape == (5, 128) and own.dtype == np.float32
    assert np.linalg.norm(own - mirror, axis=1).max() < 0.35  # measured 0.18-0.26
    between = np.linalg.norm(own[:, None] - own[None], axis=2)[np.triu_indices(5, 1)]
    assert between.min() > 0.5  # measured 0.61-0.83
    assert nearest_identity_distance(mirror, own) == pytest.approx(
        np.linalg.norm(own - mirror, axis=1), abs=1e-6
    )


def test_float_faces_are_judged_as_their_uint8_gray_levels(faces):
    as_float = faces[:3].astype(np.float32) / 255
    assert np.array_equal(to_detector_images(as_float), to_detector_images(faces[:3]))
    assert to_detector_images(faces[:3]).shape == (3, DETECTOR_SIZE, DETECTOR_SIZE)


def test_worker_processes_give_the_same_verdicts_in_order(faces):
    batch = faces[:50]
    with FaceJudges(workers=2, chunk=8) as judges:
        found, embedded = judges.detected(batch), judges.embeddings(batch[:10])
        assert np.array_equal(found.result(), detected(to_detector_images(batch)))
        assert np.array_equal(embedded.result(), embeddings(to_detector_images(batch[:10])))
    with pytest.raises(RuntimeError, match="context manager"):
        judges.detected(batch)


def test_the_workers_are_never_forked_from_the_caller_and_fit_its_cpus():
    """The caller runs torch's threads; a fork taken while they hold locks can deadlock. The
    workers fork from a fresh server process instead, one per CPU the caller may use."""
    with FaceJudges() as judges:
        method = judges._pool._mp_context.get_start_method()
        assert method in ("forkserver", "spawn") and 1 <= judges.workers <= available_cpus()
        assert judges.detected(np.full((1, 1, 64, 64), 128, np.uint8)).result().tolist() == [False]


def test_the_models_are_found_without_importing_their_package():
    code = "import sys; from facegen.judge.face_judges import model_files; model_files(); print('face_recognition_models' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"  # its __init__ needs pkg_resources
    assert all(path.stat().st_size > 1_000_000 for path in model_files().values())
