import pytest
import torch

from facegen.config import EvaluateConfig
from facegen.data import Faces
from facegen.demo import orl_faces
from facegen.evaluate import Judge, model_sampler, summarise
from facegen.models import GAN


@pytest.fixture(scope="module")
def judge() -> Judge:
    faces = torch.from_numpy(orl_faces()[:, None].copy())
    return Judge(Faces(faces[:320], faces[320:360], faces[360:]), EvaluateConfig(draws=3))


def test_each_draw_splits_the_real_pool_into_two_disjoint_halves(judge):
    a, b = judge.halves(0)
    assert judge.n == 160 and len(a) == len(b) == 160
    assert not set(a.tolist()) & set(b.tolist())
    assert not torch.equal(judge.halves(1)[0], a) and torch.equal(judge.halves(0)[0], a)


def test_real_faces_score_near_the_floor_and_blurred_ones_do_not(judge):
    floor = judge.compare(judge.real_faces(judge.n, 0), 0, memorisation=False)
    assert floor["precision"] > 0.8 and floor["recall"] > 0.8
    assert floor["brightness"] == pytest.approx(judge.brightness_contrast()[0], abs=0.02)
    assert judge.brightness_contrast()[0] == pytest.approx(judge.pool.float().mean().item() / 255, rel=1e-6)
    blurred = torch.nn.functional.avg_pool2d(judge.real_faces(judge.n, 0), 5, stride=1, padding=2)
    assert judge.compare(blurred, 0, memorisation=False)["swd"] > 2 * floor["swd"]
    # Training faces themselves are nearer to the training faces than held-out people are.
    assert judge.compare(judge.real_faces(judge.n, 0), 0)["memorisation_ratio"] == 0


def test_every_draw_gets_fresh_samples():
    sample = model_sampler(GAN(8).eval(), seed=0)
    assert torch.equal(sample(4, 0), sample(4, 0)) and not torch.equal(sample(4, 0), sample(4, 1))


def test_summaries_have_a_mean_and_a_standard_deviation_per_key():
    summary = summarise([{"swd": 1.0, "recall": 0.5}, {"swd": 3.0, "recall": 0.5}])
    assert summary == {"swd": 2.0, "swd_sd": pytest.approx(2**0.5), "recall": 0.5, "recall_sd": 0.0}
