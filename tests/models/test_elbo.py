import math

import pytest
import torch

from facegen.models import VAE
from facegen.models.elbo import mean_terms, vae_loss, vae_objective
from facegen.runtime import CPU


def test_vae_loss_terms():
    x = torch.zeros(2, 1, 2, 2)
    x_hat = torch.full((2, 1, 2, 2), 0.5)
    mu, logvar = torch.zeros(2, 3), torch.zeros(2, 3)
    loss, recon, kl = vae_loss(x, x_hat, mu, logvar, kl_weight=2.0)
    assert recon.item() == pytest.approx(4 * 0.25)  # summed over pixels, mean over batch
    assert kl.item() == pytest.approx(0.0)  # N(0, I) against itself
    mu = torch.ones(2, 3)
    loss, recon, kl = vae_loss(x, x_hat, mu, logvar, kl_weight=2.0)
    assert kl.item() == pytest.approx(1.5)  # 0.5 * sum(mu^2) over 3 dims
    assert loss.item() == pytest.approx(1.0 + 2.0 * 1.5)


def test_heldout_loss_is_a_per_image_mean_over_all_images_whatever_the_batch():
    torch.manual_seed(0)
    model = VAE(4)
    images = torch.randint(0, 256, (10, 1, 64, 64), dtype=torch.uint8)
    whole = mean_terms(model, images, 1.0, batch_size=10, runtime=CPU, seed=0)
    # Eval mode: batch statistics are not used, so only the noise draw depends on batching.
    again = mean_terms(model, images, 1.0, batch_size=10, runtime=CPU, seed=0)
    assert whole == again and not model.training
    assert whole["loss"] == pytest.approx(whole["recon_loss"] + whole["kl_loss"])
    split = mean_terms(model, images, 1.0, batch_size=3, runtime=CPU, seed=0)
    assert split["kl_loss"] == pytest.approx(whole["kl_loss"], rel=1e-5)  # KL has no noise in it


def test_the_calibrated_decoder_fits_its_variance_to_the_error():
    """With sigma^2 = mse per pixel, D/2 log sigma^2 + SSE / (2 sigma^2) = D/2 log(mse) + D/2."""
    pixels, recon, kl = 4096, torch.tensor(41.0), torch.tensor(10.0)
    loss = vae_objective(recon, kl, 0.5, "calibrated", pixels)
    mse = 41.0 / 4096
    assert loss.item() == pytest.approx(pixels / 2 * math.log(mse) + pixels / 2 + 5.0, rel=1e-6)
    assert vae_objective(recon, kl, 0.5, "fixed", pixels).item() == pytest.approx(46.0)
    # Its gradient weighs the squared error by 1 / (2 sigma^2): far more than the fixed 1.
    recon.requires_grad_(True)
    vae_objective(recon, kl, 0.5, "calibrated", pixels).backward()
    assert recon.grad.item() == pytest.approx(1 / (2 * mse), rel=1e-6)
