"""The VAE: an encoder to a Gaussian posterior, a decoder back to faces, and the prior its
samples come from."""

from __future__ import annotations

import torch
from torch import nn

from facegen.models.architectures import ARCHITECTURES
from facegen.models.prior import Mixture, fit_mixture, mixture_codes


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
        latent_dim) by seeded EM (:func:`facegen.models.prior.fit_mixture`)."""
        mixture = fit_mixture(codes, self.prior_components, seed)
        for buffer, fitted in zip(
            (self.prior_weights, self.prior_means, self.prior_stds), mixture, strict=True
        ):
            buffer.copy_(fitted)
