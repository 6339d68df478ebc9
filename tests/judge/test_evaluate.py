"""The reference every set is compared with, and how sets, snapshots and the VAE's held-out
terms are scored."""

import math

import pytest
import torch

from facegen.config import EvaluateConfig
from facegen.data.demo import orl_faces
from facegen.io import Faces
from facegen.judge import FaceJudges, Likeness, Reference, judge_real
from facegen.judge.evaluate import Contender, bootstrap_terms, model_sampler, score_draws, trained_variance
from facegen.models import GAN, VAE


@pytest.fixture(scope="module")
def faces() -> Faces:
    images = torch.from_numpy(orl_faces()[:, None].copy())  # person i: faces 10 i .. 10 i + 9
    return Faces(images[:320], images[320:360], images[360:])


@pytest.fixture(scope="module")
def reference(faces) -> Reference:
    return Reference(faces, EvaluateConfig(draws=3))


def test_each_draw_splits_the_real_pool_into_two_disjoint_halves(reference):
    a, b = reference.halves(0)
    assert reference.n == 160 and len(a) == len(b) == 160
    assert not set(a.tolist()) & set(b.tolist())
    assert not torch.equal(reference.halves(1)[0], a) and torch.equal(reference.halves(0)[0], a)
    assert reference.heldout["test"].dtype == torch.uint8 and len(reference.heldout["test"]) == 40


def test_real_faces_score_near_the_floor_and_blurred_ones_do_not(reference):
    floor = reference.compare(reference.real_faces(reference.n, 0), 0, memorisation=False)
    assert floor["precision"] > 0.8 and floor["recall"] > 0.8 and "memorisation_ratio" not in floor
    assert floor["brightness"] == pytest.approx(reference.brightness_contrast()[0], abs=0.02)
    assert reference.brightness_contrast()[0] == pytest.approx(
        reference.pool.float().mean().item() / 255, rel=1e-6
    )
    blurred = torch.nn.functional.avg_pool2d(reference.real_faces(reference.n, 0), 5, stride=1, padding=2)
    assert reference.compare(blurred, 0, memorisation=False)["swd"] > 2 * floor["swd"]
    # Training faces themselves are nearer to the training faces than held-out people are.
    assert reference.compare(reference.real_faces(reference.n, 0), 0)["memorisation_ratio"] == 0


def test_every_draw_gets_fresh_samples():
    sample = model_sampler(GAN(8).eval(), seed=0)
    assert torch.equal(sample(4, 0), sample(4, 0)) and not torch.equal(sample(4, 0), sample(4, 1))


def test_sets_are_judged_as_their_flags_say_and_the_floor_is_indistinguishable(faces, reference):
    with FaceJudges() as judges:
        likeness = Likeness(
            judge_real(Faces(faces.train[:40], faces.val[:10], faces.test[:10]), judges), judges
        )
        contenders = {
            "real_vs_real": Contender(reference.real_faces, memorisation=False, identity=False),
            "pca_gaussian": Contender(reference.pca_faces, identity=False),
            "gan": Contender(model_sampler(GAN(64).eval(), 0)),
        }
        draws = score_draws(reference, contenders, likeness)
        verdicts = likeness.verdicts()
    assert {key[1] for key in verdicts} == set(contenders) and len(verdicts) == 3 * 3
    floor, pca, gan = draws["real_vs_real"], draws["pca_gaussian"], draws["gan"]
    assert len(floor) == 3 and "memorisation_ratio" not in floor[0] and "memorisation_ratio" in pca[0]
    assert 0.35 < sum(row["c2st"] for row in floor) / 3 < 0.65  # real against real: chance
    assert min(row["c2st"] for row in gan) > 0.9  # an untrained generator's noise: always told apart
    assert (
        "identity_ratio" in verdicts["draw", "gan", 0]
        and "identity_ratio" not in verdicts["draw", "pca_gaussian", 0]
    )
    assert (
        verdicts["draw", "real_vs_real", 0]["face_rate"] > 0.6
        and verdicts["draw", "gan", 0]["face_rate"] == 0
    )


def test_the_bootstrap_terms_terms_are_bootstrapped_under_its_decoder(reference):
    vae = VAE(8).eval()
    assert trained_variance(vae, "fixed", reference, 0) == 0.5
    variance = trained_variance(vae, "calibrated", reference, 0)
    rows = [bootstrap_terms(vae, reference.heldout["test"], draw, 0, variance) for draw in range(4)]
    recon = [row["recon_loss"] for row in rows]
    assert len(set(recon)) == 4  # a fresh resample each draw: the spread is the standard error
    row = rows[0]
    pixels = 64 * 64
    assert row["elbo"] == pytest.approx(
        -(pixels / 2 * math.log(2 * math.pi * variance) + row["recon_loss"] / (2 * variance) + row["kl_loss"])
    )
    assert variance == pytest.approx(sum(recon) / 4 / pixels, rel=0.3)  # training and test faces alike
