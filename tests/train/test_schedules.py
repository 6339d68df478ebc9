"""Learning-rate schedules, step by step."""

import math

import pytest
import torch

from facegen.config import GANConfig, TrainConfig, VAEConfig
from facegen.data.demo import orl_faces
from facegen.models import GAN, VAE
from facegen.runtime import make_runtime
from facegen.train.gan import gan_epoch
from facegen.train.schedules import lr_scheduler
from facegen.train.vae import vae_epoch


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    return torch.from_numpy(orl_faces()[:40, None].copy())  # uint8 (40, 1, 64, 64)


def rates(scheduler: torch.optim.lr_scheduler.LRScheduler, steps: int) -> list[float]:
    """The learning rate of each of the next ``steps`` steps."""
    seen = []
    for _ in range(steps):
        seen.append(scheduler.optimizer.param_groups[0]["lr"])
        scheduler.optimizer.step()
        scheduler.step()
    return seen


def test_cosine_lr_falls_from_lr_towards_zero_and_resumes_where_it_left_off():
    config = VAEConfig(epochs=2, lr=1.0, lr_schedule="cosine")
    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=config.lr)
    scheduler = lr_scheduler(optimizer, config, steps_per_epoch=2)
    first = rates(scheduler, 2)
    state = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
    rest = rates(scheduler, 2)
    expected = [1.0, (1 + math.cos(math.pi / 4)) / 2, 0.5, (1 + math.cos(3 * math.pi / 4)) / 2]
    assert first + rest == pytest.approx(expected, abs=1e-12)
    # A resumed run: a fresh optimizer and scheduler given the saved states go on exactly.
    again = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=config.lr)
    resumed = lr_scheduler(again, config, steps_per_epoch=2)
    again.load_state_dict(state["optimizer"])
    resumed.load_state_dict(state["scheduler"])
    assert rates(resumed, 2) == rest
    constant_config = VAEConfig(lr_schedule="constant")
    constant = lr_scheduler(
        torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-3), constant_config, 2
    )
    assert rates(constant, 5) == [1e-3] * 5  # exactly: reruns stay byte-identical


def test_each_step_trains_at_the_scheduled_learning_rate(faces):
    # A learning rate of zero: Adam moves no weight (only batch norm's running statistics change).
    runtime = make_runtime("cpu", TrainConfig(precision="fp32"))
    vae, vae_config = VAE(8), VAEConfig(batch_size=8, latent_dim=8, lr=0.0, lr_schedule="constant")
    optimizer = runtime.adam(vae.parameters(), vae_config.lr, vae_config.betas)
    before = [p.clone() for p in vae.parameters()]
    vae_epoch(
        vae, optimizer, lr_scheduler(optimizer, vae_config, 5), faces, vae_config, torch.Generator(), runtime
    )
    assert all(torch.equal(a, b) for a, b in zip(before, vae.parameters(), strict=True))
    gan, gan_config = GAN(8), GANConfig(batch_size=8, latent_dim=8, lr=0.0)
    optimizers = tuple(
        runtime.adam(m.parameters(), 0.0, gan_config.betas) for m in (gan.generator, gan.discriminator)
    )
    schedulers = tuple(lr_scheduler(o, gan_config, 5) for o in optimizers)
    before = [p.clone() for p in gan.parameters()]
    gan_epoch(gan, optimizers, schedulers, faces, gan_config, torch.Generator(), runtime)
    assert all(torch.equal(a, b) for a, b in zip(before, gan.parameters(), strict=True))
    # Cosine over one epoch of 5 steps: the rate falls every step, so the weights move.
    cosine = VAEConfig(batch_size=8, latent_dim=8, epochs=1, lr=1e-3, lr_schedule="cosine")
    optimizer = runtime.adam(vae.parameters(), cosine.lr, cosine.betas)
    scheduler = lr_scheduler(optimizer, cosine, 5)
    vae_epoch(vae, optimizer, scheduler, faces, cosine, torch.Generator(), runtime)
    assert not all(
        torch.equal(a, b)
        for a, b in zip(before[: len(list(vae.parameters()))], vae.parameters(), strict=False)
    )
    assert scheduler.last_epoch == 5 and optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-18)
