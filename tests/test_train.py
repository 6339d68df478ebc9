import math

import pytest
import torch

from facegen import FacegenError
from facegen.config import GANConfig, VAEConfig
from facegen.data import orl_faces
from facegen.train import batches, train_gan, train_vae, vae_loss


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    return torch.from_numpy(orl_faces()[:40, None].copy())  # uint8 (40, 1, 64, 64)


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


def test_batches_are_full_and_seeded():
    order = batches(10, 4, torch.Generator().manual_seed(0))
    assert [len(b) for b in order] == [4, 4]
    again = batches(10, 4, torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(order, again, strict=True))


def test_vae_learns_and_snapshots(faces):
    config = VAEConfig(epochs=3, batch_size=8, latent_dim=8, device="cpu")
    snapshots = []
    model, history = train_vae(faces[:32], faces[32:], config, 2, lambda e, m: snapshots.append(e))
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert snapshots == [2, 3]  # every 2 epochs, and the last
    assert history[-1]["train_recon_loss"] < history[0]["train_recon_loss"]
    expected = {
        "train_loss",
        "train_recon_loss",
        "train_kl_loss",
        "val_loss",
        "val_recon_loss",
        "val_kl_loss",
    }
    assert expected <= set(history[0])
    assert not model.training


def test_training_is_reproducible(faces):
    config = GANConfig(epochs=1, batch_size=8, latent_dim=8, device="cpu")
    first = train_gan(faces, config, 1, lambda e, m: None)[1]
    second = train_gan(faces, config, 1, lambda e, m: None)[1]
    assert first == second
    assert {"d_loss", "d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake"} <= set(first[0])
    assert 0 < first[0]["d_real"] < 1 and 0 < first[0]["d_fake"] < 1


def test_a_diverging_loss_stops_training_before_a_snapshot(faces):
    config = VAEConfig(epochs=2, batch_size=8, latent_dim=8, lr=1e30, device="cpu")
    snapshots = []
    with pytest.raises(FacegenError, match=r"vae: \w+ became (nan|inf) at epoch 1") as error:
        train_vae(faces[:32], faces[32:], config, 1, lambda e, m: snapshots.append(e))
    assert snapshots == []
    assert "vae.lr" in str(error.value)


def test_too_few_images_for_a_batch(faces):
    with pytest.raises(FacegenError, match="only 4 training images, fewer than one batch"):
        train_gan(faces[:4], GANConfig(batch_size=8, device="cpu"), 1, lambda e, m: None)


def test_history_values_are_finite_floats(faces):
    _, history = train_gan(faces, GANConfig(epochs=1, batch_size=16, device="cpu"), 1, lambda e, m: None)
    assert all(isinstance(v, float) and math.isfinite(v) for k, v in history[0].items() if k != "epoch")
