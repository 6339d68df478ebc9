"""The adversarial loss terms: non-saturating and hinge, the reconstruction head's."""

import pytest
import torch
import torch.nn.functional as F

from facegen.config import GANConfig
from facegen.train.adversarial import discriminator_losses, generator_loss, reconstruction_loss


def test_hinge_is_zero_beyond_the_margins_and_linear_inside():
    config = GANConfig(loss="hinge")
    real, fake = torch.tensor([[2.0], [0.5]]), torch.tensor([[-3.0], [0.0]])
    d_loss_real, d_loss_fake = discriminator_losses(real, fake, config.loss, config.real_label)
    assert d_loss_real.item() == pytest.approx(0.25)  # (0 + 0.5) / 2
    assert d_loss_fake.item() == pytest.approx(0.5)  # (0 + 1) / 2
    assert generator_loss(fake, config.loss).item() == pytest.approx(1.5)


def test_non_saturating_keeps_the_label_smoothing():
    config = GANConfig(real_label=0.9)
    logits = torch.zeros(4, 1)
    d_loss_real, d_loss_fake = discriminator_losses(logits, logits, config.loss, config.real_label)
    assert d_loss_real.item() == pytest.approx(
        F.binary_cross_entropy(torch.tensor(0.5), torch.tensor(0.9)).item()
    )
    assert d_loss_fake.item() == pytest.approx(torch.log(torch.tensor(2.0)).item())
    assert generator_loss(logits, config.loss).item() == pytest.approx(torch.log(torch.tensor(2.0)).item())


def test_the_reconstruction_loss_compares_with_the_faces_seen_at_half_size():
    seen = torch.rand(2, 1, 64, 64)
    draw_target = torch.nn.Identity()
    features = F.avg_pool2d(seen, 2)
    assert reconstruction_loss(draw_target, features, seen).item() == 0
    assert reconstruction_loss(draw_target, features + 0.1, seen).item() == pytest.approx(0.01)
