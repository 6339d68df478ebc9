"""The adversarial loss terms: the non-saturating loss, the reconstruction head's."""

import pytest
import torch
import torch.nn.functional as F

from facegen.config import GANConfig
from facegen.train.adversarial import (
    LeCamAnchors,
    discriminator_losses,
    generator_loss,
    reconstruction_loss,
)


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


def test_lecam_penalises_logits_past_the_other_sides_average():
    anchors = LeCamAnchors(decay=0.5)
    real, fake = torch.tensor([[2.0], [4.0]]), torch.tensor([[-2.0], [0.0]])
    penalty = anchors.penalty(real, fake)
    # averages after one batch: real 0.5 * 0 + 0.5 * 3 = 1.5, fake 0.5 * -1 = -0.5
    assert anchors.real.item() == 1.5 and anchors.fake.item() == -0.5
    # real logits past -0.5 by 2.5 and 4.5; fake logits below 1.5 by 3.5 and 1.5 (exact in fp32)
    assert penalty.item() == (2.5**2 + 4.5**2) / 2 + (3.5**2 + 1.5**2) / 2
    # logits on their own side of the other's average cost nothing
    assert anchors.penalty(torch.full((2, 1), -5.0), torch.full((2, 1), 5.0)).item() == 0
