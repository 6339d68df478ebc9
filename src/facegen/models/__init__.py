"""The models: a VAE and a GAN, each built in one of the registered architectures.

- ``lab`` (:mod:`facegen.models.lab`, the default): the lab's, fixed by its module dump;
  ``print(VAE())`` shows it.
- ``dcgan`` (:mod:`facegen.models.dcgan`): a stronger pair beyond the dump, in the DCGAN
  family, with resize-convolution in the generator.

Both models turn standard-normal codes into images with ``generate(z)``; the VAE also owns
its training forward pass (``VAE.forward``), its loss, the negative ELBO
(:mod:`facegen.models.elbo`: training minimises it, judging reports it), and its prior
(:mod:`facegen.models.prior`).
``vae.architecture`` and ``gan.architecture`` choose; a checkpoint
(:mod:`facegen.models.checkpoint`) records its architecture and rebuilds it.
"""

from __future__ import annotations

import torch

from facegen.models.architectures import ARCHITECTURES, Architecture
from facegen.models.checkpoint import (
    MODELS,
    ModelDir,
    checkpoint,
    from_checkpoint,
    load_checkpoint,
    read_checkpoint,
)
from facegen.models.elbo import elbo, fixed_variance, mean_terms, vae_loss
from facegen.models.gan import GAN
from facegen.models.vae import VAE


def fixed_codes(n: int, latent_dim: int, seed: int) -> torch.Tensor:
    """The same (n, latent_dim) standard-normal codes for every epoch, model and stage."""
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))


__all__ = [
    "ARCHITECTURES",
    "GAN",
    "MODELS",
    "VAE",
    "Architecture",
    "ModelDir",
    "checkpoint",
    "elbo",
    "fixed_codes",
    "fixed_variance",
    "from_checkpoint",
    "load_checkpoint",
    "mean_terms",
    "read_checkpoint",
    "vae_loss",
]
