"""Learning-rate and KL-weight schedules, step by step."""

import math

import pytest
import torch

from facegen.config import GANConfig, TrainConfig, VAEConfig
from facegen.demo import orl_faces
from facegen.models import GAN, VAE
from facegen.runtime import make_runtime
from facegen.train.gan import gan_epoch
from facegen.train.schedules import kl_schedule, lr_schedule
from facegen.train.vae import vae_epoch


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    return torch.from_numpy(orl_faces()[:40, None].copy())  # uint8 (40, 1, 64, 64)


def test_kl_warmup_rises_linearly_then_holds():
    weights = kl_schedule(VAEConfig(kl_weight=2.0, kl_warmup=2), steps_per_epoch=2)
    assert [next(weights) for _ in range(6)] == [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    assert next(kl_schedule(VAEConfig(kl_weight=2.0), 2)) == 2.0


def test_cosine_lr_falls_from_lr_towards_zero_and_resumes_where_it_left_off():
    config = VAEConfig(epochs=2, lr=1.0, lr_schedule="cosine")
    rates = [next(r) for r in [lr_schedule(config, 2)] for _ in range(4)]
    assert rates == pytest.approx(
        [1.0, (1 + math.cos(math.pi / 4)) / 2, 0.5, (1 + math.cos(3 * math.pi / 4)) / 2]
    )
    resumed = lr_schedule(config, 2, first_epoch=2)
    assert [next(resumed), next(resumed)] == rates[2:]
    constant = lr_schedule(VAEConfig(epochs=2, lr=1e-3, lr_schedule="constant"), 2)
    assert [next(constant) for _ in range(5)] == [1e-3] * 5  # exactly: reruns stay byte-identical


def test_each_step_trains_at_the_scheduled_learning_rate(faces):
    # A schedule of zeros: Adam moves no weight (only batch norm's running statistics change).
    runtime = make_runtime("cpu", TrainConfig(precision="fp32"))
    zeros = iter([0.0] * 100)
    vae, vae_config = VAE(8), VAEConfig(batch_size=8, latent_dim=8)
    optimizer = runtime.adam(vae.parameters(), 1e-3, vae_config.betas)
    before = [p.clone() for p in vae.parameters()]
    vae_epoch(
        vae, optimizer, faces, vae_config, torch.Generator(), runtime, iter([1.0] * 100), learning_rates=zeros
    )
    assert all(torch.equal(a, b) for a, b in zip(before, vae.parameters(), strict=True))
    gan, gan_config = GAN(8), GANConfig(batch_size=8, latent_dim=8)
    optimizers = tuple(
        runtime.adam(m.parameters(), 2e-4, gan_config.betas) for m in (gan.generator, gan.discriminator)
    )
    before = [p.clone() for p in gan.parameters()]
    gan_epoch(gan, optimizers, faces, gan_config, torch.Generator(), runtime, learning_rates=zeros)
    assert all(torch.equal(a, b) for a, b in zip(before, gan.parameters(), strict=True))
    before = [p.clone() for p in vae.parameters()]
    rates = iter([1e-3] * 100)
    vae_epoch(
        vae, optimizer, faces, vae_config, torch.Generator(), runtime, iter([1.0] * 100), learning_rates=rates
    )
    assert not all(torch.equal(a, b) for a, b in zip(before, vae.parameters(), strict=True))
