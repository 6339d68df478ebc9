"""How much generated faces look like faces, and like whom, as the face judges
(:mod:`facegen.judge.face_judges`) see them:

- ``face_rate``: the share of faces dlib's detector finds.
- ``identity_ratio``: the median identity distance from each generated face to its nearest
  training face, over the same median for the held-out people's faces. Near 1: new people,
  as far from the training people as unseen real people are; well below 1: the model redraws
  the people it trained on.

The real faces are judged once per data set by the ``real_faces`` stage (:func:`judge_real`);
``evaluate`` judges the faces it compares against that record (:class:`Likeness`).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import torch

from facegen.io import Faces
from facegen.judge.face_judges import FaceJudges, Pending, nearest_identity_distance, wait

# At most this many faces of each part are judged: every one at ORL size; at CK size (40 000
# training faces) a random subset, as an embedding takes 80 ms of a core.
DETECTED_FACES = 8192
EMBEDDED_TRAINING_FACES = 4096  # the identity reference: "the nearest training face"
EMBEDDED_HELDOUT_FACES = 500


def _subset(count: int, cap: int, seed: int) -> torch.Tensor:
    """Sorted indices of at most ``cap`` of ``count`` faces: all of them, or a seeded sample."""
    if count <= cap:
        return torch.arange(count)
    return torch.randperm(count, generator=torch.Generator().manual_seed(seed))[:cap].sort().values


def judge_real(faces: Faces, judges: FaceJudges, seed: int = 0) -> dict[str, Any]:
    """Which real faces the detector finds, and identity embeddings of the training faces
    (the reference) and the held-out people's, per part: ``{part: {"detected_index",
    "detected", "embedded_index", "embeddings"}}``, indices into the part."""
    caps = {"train": EMBEDDED_TRAINING_FACES, "val": EMBEDDED_HELDOUT_FACES, "test": EMBEDDED_HELDOUT_FACES}
    pending = {}
    for part, cap in caps.items():
        images = getattr(faces, part)
        detected_index = _subset(len(images), DETECTED_FACES, seed)
        embedded_index = _subset(len(images), cap, seed)
        pending[part] = (
            detected_index,
            judges.detected(images[detected_index].numpy()),
            embedded_index,
            judges.embeddings(images[embedded_index].numpy()),
        )
    wait([batch for record in pending.values() for batch in record[1::2]], "real_faces: the face judges")
    return {
        part: {
            "detected_index": detected_index,
            "detected": torch.from_numpy(detected.result()),
            "embedded_index": embedded_index,
            "embeddings": torch.from_numpy(embeddings.result()),
        }
        for part, (detected_index, detected, embedded_index, embeddings) in pending.items()
    }


class Likeness:
    """Scores sets of faces against the real faces' judgments (:func:`judge_real`).
    :meth:`submit` hands a set to the judges under a key and returns at once, so the caller
    computes on while they work; :meth:`verdicts` waits for every set submitted and turns
    each into its numbers."""

    def __init__(self, real: dict[str, Any], judges: FaceJudges) -> None:
        self.judges = judges
        self.reference = real["train"]["embeddings"].numpy()
        self.heldout_distance = {
            part: float(
                np.median(nearest_identity_distance(real[part]["embeddings"].numpy(), self.reference))
            )
            for part in ("val", "test")
        }
        detected = torch.cat([real[part]["detected"] for part in ("val", "test")])
        self.real = {
            "face_rate": real["train"]["detected"].float().mean().item(),
            "heldout_face_rate": detected.float().mean().item(),
            "heldout_identity_distance": self.heldout_distance["test"],
        }
        self._pending: dict[Hashable, dict[str, Pending]] = {}

    def submit(self, key: Hashable, images: torch.Tensor, detect: int, identity: int = 0) -> None:
        """Hand faces (N, 1, 64, 64) in [0, 1] to the judges: the first ``detect`` to the
        detector, the first ``identity`` to the embedding."""
        pending = {"detected": self.judges.detected(images[:detect])}
        if identity:
            pending["embeddings"] = self.judges.embeddings(images[:identity])
        self._pending[key] = pending

    def verdicts(self) -> dict[Hashable, dict[str, float]]:
        """Per key submitted since the last call: ``face_rate`` and its binomial standard
        error ``face_rate_se``, and where embeddings were asked for, ``identity_distance`` and
        ``identity_ratio`` (against the test people; ``val_identity_ratio`` against the
        validation people)."""
        wait([batch for pending in self._pending.values() for batch in pending.values()], "the face judges")
        verdicts = {key: self._resolve(pending) for key, pending in self._pending.items()}
        self._pending = {}
        return verdicts

    def _resolve(self, pending: dict[str, Pending]) -> dict[str, float]:
        found = pending["detected"].result()
        rate = float(found.mean())
        row = {"face_rate": rate, "face_rate_se": (rate * (1 - rate) / len(found)) ** 0.5}
        if "embeddings" in pending:
            distance = float(
                np.median(nearest_identity_distance(pending["embeddings"].result(), self.reference))
            )
            row["identity_distance"] = distance
            row["identity_ratio"] = distance / self.heldout_distance["test"]
            row["val_identity_ratio"] = distance / self.heldout_distance["val"]
        return row
