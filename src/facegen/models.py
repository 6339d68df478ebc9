"""The lab's models: a convolutional VAE and a GAN built from the same blocks.

``print(VAE())`` reproduces the module dump the lab hands out, so attribute names
(``encoder.layer1.conv``, ``decoder.fc`` ...) are part of the contract. Both models turn
standard-normal codes into images with ``generate(z)``; the VAE also owns its training
forward pass (``VAE.forward``).
"""

from __future__ import annotations

import torch
from torch import nn

from facegen import IMAGE_SIZE

# The encoder halves 64x64 twice: 64 channels x 16 x 16 = 16384 features before ``fc``.
FEATURE_CHANNELS = 64
FEATURE_SIZE = IMAGE_SIZE // 4
FEATURES = FEATURE_CHANNELS * FEATURE_SIZE * FEATURE_SIZE


class ConvBNReLU(nn.Module):
    """conv 3x3 -> batch norm -> ReLU, optionally followed by 2x2 average pooling."""

    def __init__(self, in_channels: int, out_channels: int, pool: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)  # in place on batch norm's output, as the lab prints
        if pool:  # registered only when used, so the printed tree matches the lab's dump
            self.pool = nn.AvgPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn(self.conv(x)))
        return self.pool(x) if hasattr(self, "pool") else x


class BNReLUConv(nn.Module):
    """batch norm -> ReLU -> conv 3x3 (pre-activation), optionally followed by 2x upsampling."""

    def __init__(self, in_channels: int, out_channels: int, upsample: bool = False) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1)
        if upsample:  # the lab calls the upsampler ``pool`` too
            self.pool = nn.UpsamplingNearest2d(scale_factor=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.relu(self.bn(x)))
        return self.pool(x) if hasattr(self, "pool") else x


class Encoder(nn.Module):
    """(B, 1, 64, 64) image -> (B, out_features)."""

    def __init__(self, out_features: int) -> None:
        super().__init__()
        self.layer1 = ConvBNReLU(1, 16)  # (B, 16, 64, 64)
        self.layer2 = ConvBNReLU(16, 32, pool=True)  # (B, 32, 32, 32)
        self.layer3 = ConvBNReLU(32, 64, pool=True)  # (B, 64, 16, 16)
        self.fc = nn.Linear(FEATURES, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.flatten(1))


class Decoder(nn.Module):
    """(B, latent_dim) code -> (B, 1, 64, 64) image, unbounded (no output activation)."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.fc = nn.Linear(latent_dim, FEATURES)
        self.layer1 = BNReLUConv(64, 32, upsample=True)  # (B, 32, 32, 32)
        self.layer2 = BNReLUConv(32, 16, upsample=True)  # (B, 16, 64, 64)
        self.layer3 = BNReLUConv(16, 1)  # (B, 1, 64, 64)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.fc(z).view(-1, FEATURE_CHANNELS, FEATURE_SIZE, FEATURE_SIZE)
        return self.layer3(self.layer2(self.layer1(x)))


class VAE(nn.Module):
    """Gaussian VAE: the encoder's 2 * latent_dim outputs are the mean and log-variance.

    Samples come from the prior N(prior_mean, prior_scale prior_scale^T): N(0, I) as trained,
    or a Gaussian fitted after training to where the training faces' codes lie
    (:meth:`fit_prior`). The two buffers are not modules, so the printed tree stays the lab's."""

    def __init__(self, latent_dim: int = 64) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(2 * latent_dim)
        self.decoder = Decoder(latent_dim)
        self.register_buffer("prior_mean", torch.zeros(latent_dim))
        self.register_buffer("prior_scale", torch.eye(latent_dim))  # lower-triangular Cholesky factor

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

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) standard-normal codes -> (B, 1, 64, 64) images (unbounded),
        through the prior: decoder(prior_mean + prior_scale z)."""
        return self.decoder(self.prior_mean + z @ self.prior_scale.T)

    @torch.no_grad()
    def fit_prior(self, codes: torch.Tensor) -> None:
        """Make the prior the Gaussian (full covariance) fitted to ``codes`` (N, latent_dim),
        the posterior means of the training faces (Ghosh et al. 2020's ex-post density)."""
        codes = codes.double()
        mean = codes.mean(0)
        covariance = torch.cov(codes.T) + 1e-6 * torch.eye(self.latent_dim, dtype=torch.float64)
        self.prior_mean.copy_(mean)
        self.prior_scale.copy_(torch.linalg.cholesky(covariance))


class Discriminator(Encoder):
    """The encoder's layers with one real/fake logit: (B, 1, 64, 64) -> (B, 1)."""

    def __init__(self) -> None:
        super().__init__(out_features=1)


class GAN(nn.Module):
    """Holds the generator (the VAE's Decoder class) and the discriminator."""

    def __init__(self, latent_dim: int = 64) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.generator = Decoder(latent_dim)
        self.discriminator = Discriminator()

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) codes -> (B, 1, 64, 64) images in (0, 1).

        The Decoder has no output activation (the VAE regresses pixels directly); a GAN's
        generator needs bounded output, or the discriminator wins at once by spotting
        out-of-range pixels. The sigmoid is functional, so the module tree stays the lab's."""
        return torch.sigmoid(self.generator(z))

    forward = generate


MODELS: dict[str, type[VAE] | type[GAN]] = {"vae": VAE, "gan": GAN}
