"""The adversarial term on the VAE's reconstructions (vae.adversarial)."""

import math

import pytest
import torch
import torch.nn.functional as F

from facegen import FacegenError
from facegen.config import VAEConfig
from facegen.data.demo import orl_faces
from facegen.models.dcgan import Discriminator
from facegen.train.vae import train_vae
from facegen.train.vae_critic import ReconstructionCritic


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    return torch.from_numpy(orl_faces()[:40, None].copy())  # uint8 (40, 1, 64, 64)


def critic(weight: float = 0.3) -> ReconstructionCritic:
    torch.manual_seed(0)
    discriminator = Discriminator()
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=4e-4, betas=(0.5, 0.999))
    return ReconstructionCritic(discriminator, optimizer, weight, torch.Generator().manual_seed(0))


def test_the_adversarial_gradient_is_weight_times_the_elbos_and_the_critic_steps_alone(faces):
    real = faces[:8].float() / 255
    reconstruction = F.avg_pool2d(real, 3, 1, 1).requires_grad_(True)  # a blurred face
    vae_loss = (reconstruction - real).square().sum()
    judge = critic(weight=0.3)
    before = [p.detach().clone() for p in judge.discriminator.parameters()]
    objective, g_loss, d_loss = judge.play(real, reconstruction, vae_loss)
    assert reconstruction.grad is None  # the critic's step left the VAE's side alone
    assert all(not torch.equal(a, p) for a, p in zip(before, judge.discriminator.parameters(), strict=True))
    (total,) = torch.autograd.grad(objective, reconstruction)
    elbo_gradient = 2 * (reconstruction - real).detach()
    adversarial = total - elbo_gradient
    # fp32 sums over 32 768 pixels: a relative error of 1e-4 allows their rounding
    assert adversarial.norm().item() == pytest.approx(0.3 * elbo_gradient.norm().item(), rel=1e-4)
    assert g_loss > 0 and d_loss > 0 and not (g_loss.requires_grad or d_loss.requires_grad)


def play_rounds(
    judge: ReconstructionCritic, real: torch.Tensor, fake: torch.Tensor, rounds: int
) -> list[float]:
    losses = []
    for _ in range(rounds):
        reconstruction = fake.clone().requires_grad_(True)
        losses.append(judge.play(real, reconstruction, reconstruction.sum())[2].item())
    return losses


def test_the_critic_learns_to_tell_faces_from_blurs(faces):
    real = faces[:16].float() / 255
    losses = play_rounds(critic(), real, F.avg_pool2d(real, 5, 1, 2), 30)
    assert losses[-1] < 0.5 * losses[0]  # 2 log 2 = 1.39 at chance


def test_a_critic_of_faces_alone_cannot_see_a_sharp_reconstruction_of_someone_else(faces):
    # why the critic's reconstructions may draw detail the input lacks (docs/models.md)
    real = faces[:16].float() / 255
    losses = play_rounds(critic(), real, real.roll(1, dims=0), 40)  # each "reconstruction" another person
    assert min(losses[-5:]) > 1.2  # the same 16 faces on both sides: chance, 2 log 2 = 1.39


def test_an_adversarial_vae_trains_repeats_and_logs_both_players(faces):
    config = VAEConfig(
        epochs=1, batch_size=8, latent_dim=8, device="cpu", architecture="dcgan", adversarial=0.3
    )
    model, history = train_vae(faces[:32], faces[32:], config, lambda e, m: None)
    row = history[0]
    assert {"train_g_loss", "train_d_loss"} <= set(row)
    assert all(math.isfinite(v) for v in row.values())
    assert history == train_vae(faces[:32], faces[32:], config, lambda e, m: None)[1]  # seeded
    assert "critic" not in dict(model.named_children())  # the critic is not part of the model
    plain = train_vae(faces[:32], faces[32:], VAEConfig(**{**config.__dict__, "adversarial": 0.0}), print)[1]
    assert "train_g_loss" not in plain[0] and plain[0]["train_recon_loss"] != row["train_recon_loss"]


def test_the_lab_vae_keeps_the_labs_loss():
    with pytest.raises(
        FacegenError, match=r"vae\.adversarial changes the dcgan networks; the lab.s are fixed"
    ):
        VAEConfig(adversarial=0.1).check("vae")
    VAEConfig(adversarial=0.1, architecture="dcgan").check("vae")
