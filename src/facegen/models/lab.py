"""The lab's architecture (``lab``), fixed by its module dump: an encoder of three 3x3
convolutions with average pooling, a decoder that mirrors it with nearest upsampling, and a
discriminator made of the encoder's layers with one logit.

``print(VAE())`` reproduces the dump the lab hands out, so the class and attribute names
(``Encoder``, ``encoder.layer1.conv``, ``decoder.fc`` ...) are part of the contract.
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
        self.latent_dim = latent_dim  # a plain attribute: the printed tree stays the lab's
        self.fc = nn.Linear(latent_dim, FEATURES)
        self.layer1 = BNReLUConv(64, 32, upsample=True)  # (B, 32, 32, 32)
        self.layer2 = BNReLUConv(32, 16, upsample=True)  # (B, 16, 64, 64)
        self.layer3 = BNReLUConv(16, 1)  # (B, 1, 64, 64)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.fc(z).view(-1, FEATURE_CHANNELS, FEATURE_SIZE, FEATURE_SIZE)
        return self.layer3(self.layer2(self.layer1(x)))


class Discriminator(Encoder):
    """The encoder's layers with one real/fake logit: (B, 1, 64, 64) -> (B, 1)."""

    def __init__(self) -> None:
        super().__init__(out_features=1)
