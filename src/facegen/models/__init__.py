"""The models: a VAE and a GAN, each built in one of the registered architectures.

- ``lab`` (:mod:`facegen.models.lab`, the default): the lab's, fixed by its module dump;
  ``print(VAE())`` shows it.
- ``dcgan`` (:mod:`facegen.models.dcgan`): a stronger pair beyond the dump, in the DCGAN
  family, with resize-convolution in the generator.

Both models turn standard-normal codes into images with ``generate(z)``; the VAE also owns
its training forward pass (``VAE.forward``). ``vae.architecture`` and ``gan.architecture``
choose; a checkpoint records its architecture and :func:`facegen.checkpoints.load_checkpoint`
rebuilds it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from facegen.mixture import Mixture, fit_mixture, mixture_codes
from facegen.models import dcgan, lab


@dataclass(frozen=True)
class Architecture:
    """The three networks of an architecture: ``encoder(out_features)`` and
    ``discriminator()`` take (B, 1, 64, 64) images, ``decoder(latent_dim)`` gives them
    back, unbounded (the VAE's decoder and the GAN's generator are one class)."""

    encoder: type[nn.Module]
    decoder: type[nn.Module]
    discriminator: type[nn.Module]


ARCHITECTURES = {
    "lab": Architecture(lab.Encoder, lab.Decoder, lab.Discriminator),
    "dcgan": Architecture(dcgan.Encoder, dcgan.Decoder, dcgan.Discriminator),
}


class VAE(nn.Module):
    """Gaussian VAE: the encoder's 2 * latent_dim outputs are the mean and log-variance.

    Samples come from the prior: N(prior_mean, prior_scale prior_scale^T), which is N(0, I) as
    trained or a Gaussian fitted after training to where the training faces' codes lie
    (:meth:`fit_prior`); or, with ``prior_components`` > 0, a Gaussian mixture fitted to them
    (:meth:`fit_mixture`). The prior lives in buffers, not modules, so the printed tree stays
    the lab's."""

    def __init__(self, latent_dim: int = 64, architecture: str = "lab", prior_components: int = 0) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.architecture = architecture
        self.prior_components = prior_components
        networks = ARCHITECTURES[architecture]
        self.encoder = networks.encoder(2 * latent_dim)
        self.decoder = networks.decoder(latent_dim)
        self.register_buffer("prior_mean", torch.zeros(latent_dim))
        self.register_buffer("prior_scale", torch.eye(latent_dim))  # lower-triangular Cholesky factor
        if prior_components:  # the mixture prior (vae.prior: mixture), N(0, I) per component until fitted
            self.register_buffer("prior_weights", torch.full((prior_components,), 1 / prior_components))
            self.register_buffer("prior_means", torch.zeros(prior_components, latent_dim))
            self.register_buffer("prior_stds", torch.ones(prior_components, latent_dim))

    @property
    def model_args(self) -> dict[str, int | str]:
        """What rebuilds this model: ``VAE(**vae.model_args)``."""
        return {
            "latent_dim": self.latent_dim,
            "architecture": self.architecture,
            "prior_components": self.prior_components,
        }

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=1)  # each (B, latent_dim)
        return mu, logvar

    def forward(
        self, x: torch.Tensor, noise: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(reconstruction (B, 1, 64, 64), mu, logvar) with z = mu + sigma * noise; pass
        ``noise`` (B, latent_dim) to draw it from a seeded generator."""
        mu, logvar = self.encode(x)
        if noise is None:
            noise = torch.randn_like(mu)
        return self.decoder(mu + noise * torch.exp(0.5 * logvar)), mu, logvar

    def prior_codes(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) standard-normal codes -> samples of the prior (B, latent_dim):
        prior_mean + prior_scale z, or the mixture's sample for z (:func:`mixture_codes`)."""
        if self.prior_components:
            return mixture_codes(Mixture(self.prior_weights, self.prior_means, self.prior_stds), z)
        return self.prior_mean + z @ self.prior_scale.T

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) standard-normal codes -> (B, 1, 64, 64) images (unbounded),
        through the prior: decoder(prior_codes(z))."""
        return self.decoder(self.prior_codes(z))

    @torch.no_grad()
    def fit_prior(self, codes: torch.Tensor) -> None:
        """Make the prior the Gaussian (full covariance) fitted to ``codes`` (N, latent_dim),
        the posterior means of the training faces (Ghosh et al. 2020's ex-post density)."""
        codes = codes.double()
        mean = codes.mean(0)
        covariance = torch.cov(codes.T) + 1e-6 * torch.eye(self.latent_dim, dtype=torch.float64)
        self.prior_mean.copy_(mean)
        self.prior_scale.copy_(torch.linalg.cholesky(covariance))

    @torch.no_grad()
    def fit_mixture(self, codes: torch.Tensor, seed: int = 0) -> None:
        """Make the prior the ``prior_components``-Gaussian mixture fitted to ``codes`` (N,
        latent_dim) by seeded EM (:func:`facegen.mixture.fit_mixture`)."""
        mixture = fit_mixture(codes, self.prior_components, seed)
        for buffer, fitted in zip(
            (self.prior_weights, self.prior_means, self.prior_stds), mixture, strict=True
        ):
            buffer.copy_(fitted)


class GAN(nn.Module):
    """Holds the generator (the architecture's decoder class) and the discriminator."""

    def __init__(self, latent_dim: int = 64, architecture: str = "lab") -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.architecture = architecture
        networks = ARCHITECTURES[architecture]
        self.generator = networks.decoder(latent_dim)
        self.discriminator = networks.discriminator()

    @property
    def model_args(self) -> dict[str, int | str]:
        """What rebuilds this model: ``GAN(**gan.model_args)``."""
        return {"latent_dim": self.latent_dim, "architecture": self.architecture}

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) codes -> (B, 1, 64, 64) images in (0, 1).

        The decoder has no output activation (the VAE regresses pixels directly); a GAN's
        generator needs bounded output, or the discriminator wins at once by spotting
        out-of-range pixels. The sigmoid is functional, so the module tree stays the lab's."""
        return torch.sigmoid(self.generator(z))

    forward = generate


MODELS: dict[str, type[VAE] | type[GAN]] = {"vae": VAE, "gan": GAN}
