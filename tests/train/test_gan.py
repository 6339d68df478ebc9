"""The GAN's training loop and its step."""

import contextlib
import math

import pytest
import torch

from facegen import FacegenError
from facegen.config import GANConfig
from facegen.data.demo import orl_faces
from facegen.models import GAN, fixed_codes
from facegen.models.lab import Discriminator
from facegen.train.adversarial import discriminator_logits, reconstruction_loss
from facegen.train.augment import diff_augment
from facegen.train.average import RECALIBRATION_BATCHES, RECALIBRATION_SIZE
from facegen.train.gan import HEAD_INTERVAL, StepPlan, discriminator_step, step_plan, train_gan


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    return torch.from_numpy(orl_faces()[:40, None].copy())  # uint8 (40, 1, 64, 64)


def test_training_is_reproducible(faces):
    config = GANConfig(epochs=1, batch_size=8, latent_dim=8, device="cpu")
    first = train_gan(faces, config, lambda e, m: None)[1]
    second = train_gan(faces, config, lambda e, m: None)[1]
    assert first == second
    assert set(first[0]) == {"epoch", "d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake"}
    assert 0 < first[0]["d_real"] < 1 and 0 < first[0]["d_fake"] < 1


def test_history_values_are_finite_floats(faces):
    _, history = train_gan(faces, GANConfig(epochs=1, batch_size=16, device="cpu"), lambda e, m: None)
    assert all(isinstance(v, float) and math.isfinite(v) for k, v in history[0].items() if k != "epoch")


def test_the_discriminator_pass_sees_a_brightness_shift_that_separate_passes_hide(faces):
    """Batch norm right after D's first (linear) convolution removes a shift shared by a whole
    batch: in separate passes (the lab's step) a brightened batch scores almost exactly like
    the original (only the zero-padded borders differ); in the project's joint pass it does not."""
    real = faces[:16].float() / 255
    brighter = (real + 0.15).clamp(0, 1)
    torch.manual_seed(0)
    discriminator = Discriminator().train()
    with torch.no_grad():
        separate = (discriminator(real) - discriminator(brighter)).abs().mean().item()
        joint_real, joint_bright, *_ = discriminator_logits(discriminator, real, brighter)
    assert separate < 0.03
    assert (joint_real - joint_bright).abs().mean().item() > 4 * separate


def test_gan_options_train_and_the_averaged_generator_gets_its_own_batch_statistics(faces):
    config = GANConfig(
        epochs=2,
        batch_size=8,
        latent_dim=8,
        device="cpu",
        ema=0.9,
        diffaugment=True,
        snapshot_every=1,
        hflip=True,
    )
    snapshots = []
    model, history = train_gan(faces, config, lambda e, m: snapshots.append(m))
    assert len(history) == 2 and all(math.isfinite(v) for v in history[-1].values())
    generator = model.generator
    assert not generator.training and all(not p.requires_grad for p in generator.parameters())
    # Its running statistics are the plain average over the fixed recalibration codes'
    # batches (torch's update_bn: momentum None), so exactly the mean over all of them.
    z = fixed_codes(RECALIBRATION_BATCHES * RECALIBRATION_SIZE, 8, config.seed)
    with torch.no_grad():
        features = generator.fc(z).view(-1, 64, 16, 16)
    assert torch.allclose(generator.layer1.bn.running_mean, features.mean((0, 2, 3)), atol=1e-5)
    assert snapshots[-1].generator is generator


def test_the_step_plan_augments_as_asked_and_runs_the_head_lazily():
    x = torch.rand(8, 1, 16, 16)
    plain = step_plan(GANConfig(), torch.Generator(), 0)
    assert plain == StepPlan()  # the default: the plain game, the head every other step
    augment = step_plan(GANConfig(diffaugment=True), torch.Generator().manual_seed(0), 0).augment
    assert torch.equal(augment(x), diff_augment(x, torch.Generator().manual_seed(0)))
    heads = [step_plan(GANConfig(), torch.Generator(), step).reconstruct for step in range(4)]
    assert heads == [True, False, True, False]


def test_the_anchors_recipe_trains_repeats_and_refuses_the_lab(faces):
    config = GANConfig(
        architecture="dcgan",
        epochs=1,
        batch_size=8,
        latent_dim=8,
        device="cpu",
        diffaugment=True,
        recon_head=1.0,
    )
    model, history = train_gan(faces, config, lambda e, m: None)
    assert all(math.isfinite(v) for v in history[0].values())
    assert model.model_args["recon_head"]
    assert history == train_gan(faces, config, lambda e, m: None)[1]  # seeded: it repeats
    with pytest.raises(FacegenError, match=r"gan\.recon_head changes the dcgan networks"):
        GANConfig(recon_head=1.0).check("gan")


def test_the_reconstruction_head_trains_lazily_at_the_interval_times_its_weight(faces):
    """The head's loss joins the discriminator's only where ``reconstruct``, scaled by
    HEAD_INTERVAL, so its average gradient stays that of every step's."""
    config = GANConfig(architecture="dcgan", latent_dim=8, recon_head=0.5)
    real = faces[:8].float() / 255
    fake = torch.rand(8, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    grads = {}
    for reconstruct in (False, True):
        torch.manual_seed(0)
        gan = GAN(latent_dim=8, architecture="dcgan", recon_head=True)
        optimizer = torch.optim.SGD(gan.discriminator.parameters(), lr=0.0)  # leaves D as it is
        plan = StepPlan(reconstruct=reconstruct)
        discriminator_step(gan, optimizer, real, fake, config, contextlib.nullcontext(), plan)
        grads[reconstruct] = [p.grad for p in gan.discriminator.recon_head.parameters()]
    assert all(g is None for g in grads[False])  # the head did not run
    # the head's own gradient, from its loss alone, for the same discriminator and faces
    torch.manual_seed(0)
    gan = GAN(latent_dim=8, architecture="dcgan", recon_head=True)
    seen = discriminator_logits(gan.discriminator, real, fake, None, features=True)
    recon = reconstruction_loss(gan.discriminator.recon_head, seen.real_features, seen.seen_real)
    alone = torch.autograd.grad(recon, list(gan.discriminator.recon_head.parameters()))
    for lazy, own in zip(grads[True], alone, strict=True):  # fp32 sums in another order
        torch.testing.assert_close(lazy, config.recon_head * HEAD_INTERVAL * own, rtol=1e-5, atol=1e-7)
