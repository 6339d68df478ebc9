"""The adversarial loss terms: the non-saturating loss, the reconstruction head's."""

import pytest
import torch
import torch.nn.functional as F

from facegen.config import GANConfig
from facegen.train.adversarial import discriminator_losses, generator_loss, reconstruction_loss


def test_non_saturating_keeps_the_label_smoothing():
    config = GANConfig(real_label=0.9)
    logits = torch.zeros(4, 1)
    d_loss_real, d_loss_fake = discriminator_losses(logits, logits, config.real_label)
    assert d_loss_real.item() == pytest.approx(
        F.binary_cross_entropy(torch.tensor(0.5), torch.tensor(0.9)).item()
    )
    assert d_loss_fake.item() == pytest.approx(torch.log(torch.tensor(2.0)).item())
    assert generator_loss(logits).item() == pytest.approx(torch.log(torch.tensor(2.0)).item())


def test_the_reconstruction_loss_compares_with_the_faces_seen_at_half_size():
    seen = torch.rand(2, 1, 64, 64)
    draw_target = torch.nn.Identity()
    features = F.avg_pool2d(seen, 2)
    assert reconstruction_loss(draw_target, features, seen).item() == 0
    assert reconstruction_loss(draw_target, features + 0.1, seen).item() == pytest.approx(0.01)
