"""face_rate and identity_ratio against a record of the real faces."""

import pytest
import torch

from facegen.data.demo import orl_faces
from facegen.io import Faces
from facegen.judge.face_judges import FaceJudges
from facegen.judge.likeness import Likeness, judge_real

PEOPLE = 16


@pytest.fixture(scope="module")
def record():
    images = torch.from_numpy(orl_faces()[:, None].copy())  # person i: faces 10 i .. 10 i + 9
    faces = Faces(train=images[:60], val=images[60:80], test=images[80 : 80 + PEOPLE])
    with FaceJudges() as judges:
        return faces, judge_real(faces, judges)


def test_the_real_faces_record_holds_every_face_of_a_small_set(record):
    faces, real = record
    for part in ("train", "val", "test"):
        assert real[part]["detected_index"].tolist() == list(range(len(getattr(faces, part))))
        assert real[part]["embeddings"].shape == (len(getattr(faces, part)), 128)
        assert real[part]["detected"].dtype == torch.bool


def test_redrawn_training_faces_have_identity_ratio_zero_and_new_people_near_one(record):
    faces, real = record
    with FaceJudges() as judges:
        likeness = Likeness(real, judges)
        likeness.submit("memorised", faces.train[:32].float() / 255, detect=32, identity=32)
        likeness.submit("new people", faces.test.float() / 255, detect=PEOPLE, identity=PEOPLE)
        likeness.submit("blank", torch.full((8, 1, 64, 64), 0.5), detect=8)
        verdicts = likeness.verdicts()
        assert likeness.verdicts() == {}  # each set is resolved once
    memorised, new_people, blank = verdicts["memorised"], verdicts["new people"], verdicts["blank"]
    assert memorised["identity_ratio"] == pytest.approx(0.0, abs=1e-6)  # each is its own nearest
    assert new_people["identity_ratio"] == pytest.approx(1.0, abs=1e-6)  # the test people themselves
    assert 0.5 < new_people["val_identity_ratio"] < 2
    assert memorised["face_rate"] > 0.6 and blank == {"face_rate": 0.0, "face_rate_se": 0.0}
    rate = memorised["face_rate"]
    assert memorised["face_rate_se"] == pytest.approx((rate * (1 - rate) / 32) ** 0.5)
    assert likeness.real["face_rate"] == pytest.approx(real["train"]["detected"].float().mean().item())
