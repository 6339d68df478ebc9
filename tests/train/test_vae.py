"""The VAE's training loop."""

import pytest
import torch

from facegen import FacegenError
from facegen.config import TrainConfig, VAEConfig
from facegen.data.demo import orl_faces
from facegen.runtime import make_runtime
from facegen.train.vae import posterior_means, train_vae


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    return torch.from_numpy(orl_faces()[:40, None].copy())  # uint8 (40, 1, 64, 64)


def test_vae_learns_and_snapshots(faces):
    config = VAEConfig(epochs=3, batch_size=8, latent_dim=8, device="cpu", snapshot_every=2)
    snapshots = []
    model, history = train_vae(faces[:32], faces[32:], config, lambda e, m: snapshots.append(e))
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


def test_a_diverging_loss_stops_training_before_a_snapshot(faces):
    config = VAEConfig(epochs=2, batch_size=8, latent_dim=8, lr=1e30, device="cpu")
    snapshots = []
    with pytest.raises(FacegenError, match=r"vae: \w+ became (nan|inf) at epoch 1") as error:
        train_vae(faces[:32], faces[32:], config, lambda e, m: snapshots.append(e))
    assert snapshots == []
    assert "vae.lr" in str(error.value)


def test_vae_options_train_and_fitted_prior_samples_where_the_codes_are(faces):
    options = {"pixel_variance": "calibrated", "prior": "fitted", "hflip": True}
    config = VAEConfig(epochs=2, batch_size=8, latent_dim=8, device="cpu", **options)
    model, history = train_vae(faces[:32], faces[32:], config, lambda e, m: None)
    assert history[-1]["train_loss"] < 0  # calibrated: D/2 log(mse) dominates, mse << 1
    # The codes as training computed them (the same runtime: bf16 where the CPU has it, whose
    # kernels differ from CPU to CPU), so the prior must match them to float32 rounding alone:
    # it is fitted in float64 and stored in float32.
    codes = posterior_means(model, faces[:32], make_runtime("cpu", TrainConfig()))
    assert torch.allclose(model.prior_mean, codes.mean(0), atol=1e-5)
    scale = model.prior_scale
    assert torch.allclose(scale @ scale.T, torch.cov(codes.T), atol=1e-5)


def test_a_mixture_prior_is_fitted_to_the_training_codes_at_each_snapshot(faces):
    config = VAEConfig(
        epochs=2, batch_size=8, latent_dim=8, device="cpu", prior="mixture", prior_components=3
    )
    snapshots = []
    model, _ = train_vae(faces[:32], faces[32:], config, lambda e, m: snapshots.append(m.prior_means.clone()))
    assert model.prior_components == 3 and len(snapshots) == 1  # snapshot_every 2: the last epoch
    codes = posterior_means(model, faces[:32], make_runtime("cpu", TrainConfig()))
    # Each fitted mean is the weighted mean of some codes: inside the codes' range
    assert (model.prior_means >= codes.min(0).values - 1e-4).all()
    assert (model.prior_means <= codes.max(0).values + 1e-4).all()
    assert model.prior_weights.sum().item() == pytest.approx(1.0)
