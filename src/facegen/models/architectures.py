"""The registered architectures, by the name ``vae.architecture`` and ``gan.architecture``
give: ``lab`` (:mod:`facegen.models.lab`, the default) and ``dcgan``
(:mod:`facegen.models.dcgan`)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

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
