"""The GAN: a generator (the architecture's decoder) and a discriminator."""

from __future__ import annotations

import torch
from torch import nn

from facegen.models.architectures import ARCHITECTURES


class GAN(nn.Module):
    """Holds the generator (the architecture's decoder class) and the discriminator."""

    def __init__(
        self,
        latent_dim: int = 64,
        architecture: str = "lab",
        recon_head: bool = False,
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.architecture = architecture
        networks = ARCHITECTURES[architecture]
        self.generator = networks.decoder(latent_dim)
        # the discriminator's options (dcgan only) are named only where set, so a lab model's
        # construction and checkpoint stay the lab's
        options = {"recon_head": recon_head}
        self.options = {key: value for key, value in options.items() if value}
        self.discriminator = networks.discriminator(**self.options)

    @property
    def model_args(self) -> dict[str, int | str | bool]:
        """What rebuilds this model: ``GAN(**gan.model_args)``."""
        return {"latent_dim": self.latent_dim, "architecture": self.architecture} | self.options

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) codes -> (B, 1, 64, 64) images in (0, 1).

        The decoder has no output activation (the VAE regresses pixels directly); a GAN's
        generator needs bounded output, or the discriminator wins at once by spotting
        out-of-range pixels. The sigmoid is functional, so the module tree stays the lab's."""
        return torch.sigmoid(self.generator(z))

    forward = generate
