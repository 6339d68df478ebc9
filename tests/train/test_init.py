"""What a training stage checks before it writes anything: the faces can feed the run, and
no setting would be ignored."""

import pytest

from facegen import FacegenError
from facegen.config import GANConfig, VAEConfig
from facegen.train import check_data
from facegen.train.average import ramp


def test_too_few_faces_for_a_batch_or_the_mixture_are_refused_in_one_sentence():
    with pytest.raises(
        FacegenError, match=r"^gan: only 4 training images, fewer than one batch of gan\.batch_size = 8"
    ):
        check_data("gan", GANConfig(batch_size=8), 4)
    mixture = VAEConfig(batch_size=8, prior="mixture", prior_components=40)
    with pytest.raises(FacegenError, match=r"vae\.prior_components = 40 is more than the 32 training faces"):
        check_data("vae", mixture, 32)
    check_data("vae", mixture, 40)


def test_a_weight_average_its_ramp_never_reaches_is_refused():
    """The default run: 120 epochs of 20 steps; the ramp reaches 2400 / 2409 by its last."""
    assert ramp(2399) == pytest.approx(0.996264, abs=1e-6)
    check_data("gan", GANConfig(), 320)  # the default: 1, the ramp alone
    check_data("gan", GANConfig(ema=0.995), 320)  # reached at step 1790
    check_data("gan", GANConfig(ema=0.0), 320)  # no average at all
    with pytest.raises(
        FacegenError,
        match=r"gan\.ema = 0\.999 would be ignored: .* only 0\.99626 in the run's 2400 steps; set at most 0\.9962",
    ):
        check_data("gan", GANConfig(ema=0.999), 320)
    check_data("gan", GANConfig(ema=0.999, epochs=800), 320)  # 16 000 steps: 0.99944 reached
