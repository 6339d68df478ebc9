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
from facegen.train.average import RECALIBRATION_BATCHES, RECALIBRATION_SIZE
from facegen.train.gan import (
    HEAD_INTERVAL,
    discriminator_logits,
    discriminator_step,
    discriminator_view,
    train_gan,
)
from facegen.train.gan_losses import reconstruction_loss


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


def test_too_few_images_for_a_batch(faces):
    with pytest.raises(FacegenError, match="only 4 training images, fewer than one batch"):
        train_gan(faces[:4], GANConfig(batch_size=8, device="cpu"), lambda e, m: None)


def test_history_values_are_finite_floats(faces):
    _, history = train_gan(faces, GANConfig(epochs=1, batch_size=16, device="cpu"), lambda e, m: None)
    assert all(isinstance(v, float) and math.isfinite(v) for k, v in history[0].items() if k != "epoch")


def test_the_default_discriminator_pass_sees_a_brightness_shift_that_separate_passes_hide(faces):
    """Batch norm right after D's first (linear) convolution removes a shift shared by a whole
    batch: in separate passes (the lab's step) a brightened batch scores almost exactly like
    the original (only the zero-padded borders differ); in the default joint pass it does not."""
    real = faces[:16].float() / 255
    brighter = (real + 0.15).clamp(0, 1)

    def difference(batch: str) -> float:
        torch.manual_seed(0)
        with torch.no_grad():
            real_logits, bright_logits, *_ = discriminator_logits(
                Discriminator().train(), real, brighter, batch
            )
        return (real_logits - bright_logits).abs().mean().item()

    assert difference("separate") < 0.03
    assert difference(GANConfig().discriminator_batch) > 4 * difference("separate")


def test_gan_options_train_and_the_averaged_generator_gets_its_own_batch_statistics(faces):
    config = GANConfig(
        epochs=2,
        batch_size=8,
        latent_dim=8,
        device="cpu",
        ema=0.9,
        diffaugment=True,
        r1=0.1,
        instance_noise=0.1,
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


def test_discriminator_view_noise_falls_linearly_to_none():
    x = torch.full((256, 1, 16, 16), 0.5)

    def spread(config: GANConfig, step: int) -> float:
        view = discriminator_view(config, torch.Generator().manual_seed(0), step, 100)
        return 0.0 if view is None else (view(x) - x).std().item()

    noisy = GANConfig(instance_noise=0.2)
    assert abs(spread(noisy, 0) - 0.2) < 0.01 and abs(spread(noisy, 75) - 0.05) < 0.005
    assert discriminator_view(noisy, torch.Generator(), 100, 100) is None  # the faces themselves at the end
    assert discriminator_view(GANConfig(), torch.Generator(), 0, 100) is None  # the default: off


def test_the_anchors_recipe_trains_resumes_its_lecam_averages_and_refuses_the_lab(faces):
    config = GANConfig(
        architecture="dcgan",
        epochs=1,
        batch_size=8,
        latent_dim=8,
        device="cpu",
        spectral_norm=True,
        loss="hinge",
        r1=0.05,
        lecam=0.3,
        diffaugment=True,
        diffaugment_color=True,
        recon_head=1.0,
    )
    model, history = train_gan(faces, config, lambda e, m: None)
    assert all(math.isfinite(v) for v in history[0].values())
    assert model.model_args["spectral_norm"] and model.model_args["recon_head"]
    assert history == train_gan(faces, config, lambda e, m: None)[1]  # seeded: it repeats
    for key in ("spectral_norm", "recon_head"):
        with pytest.raises(FacegenError, match=rf"gan\.{key} changes the dcgan discriminator"):
            GANConfig(**{key: 1}).check("gan")
    with pytest.raises(FacegenError, match=r"diffaugment_color needs gan\.diffaugment"):
        GANConfig(diffaugment_color=True).check("gan")


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
        discriminator_step(gan, optimizer, real, fake, config, contextlib.nullcontext(), None, False,
                           reconstruct=reconstruct)  # fmt: skip
        grads[reconstruct] = [p.grad for p in gan.discriminator.decoder.parameters()]
    assert all(g is None for g in grads[False])  # the head did not run
    # the head's own gradient, from its loss alone, for the same discriminator and faces
    torch.manual_seed(0)
    gan = GAN(latent_dim=8, architecture="dcgan", recon_head=True)
    seen = discriminator_logits(gan.discriminator, real, fake, "joint", None, features=True)
    recon = reconstruction_loss(gan.discriminator.decoder, seen.real_features, seen.seen_real)
    alone = torch.autograd.grad(recon, list(gan.discriminator.decoder.parameters()))
    for lazy, own in zip(grads[True], alone, strict=True):  # fp32 sums in another order
        torch.testing.assert_close(lazy, config.recon_head * HEAD_INTERVAL * own, rtol=1e-5, atol=1e-7)
