"""A stronger architecture beyond the lab's dump (``dcgan``), in the DCGAN family (Radford et
al. 2016): strided 4x4 convolutions instead of pooling, channels that double as the
resolution halves (32 at 32 px to 256 at 4 px), batch norm and LeakyReLU(0.2) in the
discriminator and the encoder; the generator and the decoder grow 4x4 to 64x64 by
resize-convolution (nearest 2x upsampling, then a 3x3 convolution: Odena et al. 2016), which
draws no checkerboard, where transposed convolutions with a stride of 2 overlap unevenly.

Why: the lab's discriminator ends in one linear layer over 64 x 16 x 16 features whose
receptive field is about 10 pixels, a linear vote over local patches that cannot ask whether
they make one face; its generator has one 3x3 convolution at full resolution, fed by
nearest-upsampled 16 channels. Here every 4 x 4 feature of the last layer sees the whole face.
"""

from __future__ import annotations

import torch
from torch import nn

from facegen import IMAGE_SIZE

BASE_CHANNELS = 32  # at 32 px; doubling to 256 at 4 px
LOW_SIZE = IMAGE_SIZE // 16  # the smallest feature map, 4 x 4: four halvings of 64
LOW_CHANNELS = BASE_CHANNELS * 8
FEATURES = LOW_CHANNELS * LOW_SIZE * LOW_SIZE  # 4096 features before / after ``fc``


class DownBlock(nn.Module):
    """conv 4x4 stride 2 (halves the side) -> batch norm (except the first block) -> LeakyReLU(0.2)."""

    def __init__(self, in_channels: int, out_channels: int, norm: bool = True) -> None:
        super().__init__()
        # bias only without batch norm: batch norm's shift replaces it
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1, bias=not norm)
        if norm:
            self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return self.relu(self.bn(x) if hasattr(self, "bn") else x)


class UpBlock(nn.Module):
    """batch norm -> ReLU -> nearest 2x upsampling (optional) -> conv 3x3: resize-convolution."""

    def __init__(self, in_channels: int, out_channels: int, upsample: bool = True) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        if upsample:
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn(x))
        return self.conv(self.up(x) if hasattr(self, "up") else x)


class Encoder(nn.Module):
    """(B, 1, 64, 64) image -> (B, out_features): four strided blocks, then ``fc``."""

    def __init__(self, out_features: int) -> None:
        super().__init__()
        c = BASE_CHANNELS
        self.layer1 = DownBlock(1, c, norm=False)  # (B, 32, 32, 32)
        self.layer2 = DownBlock(c, 2 * c)  # (B, 64, 16, 16)
        self.layer3 = DownBlock(2 * c, 4 * c)  # (B, 128, 8, 8)
        self.layer4 = DownBlock(4 * c, 8 * c)  # (B, 256, 4, 4)
        self.fc = nn.Linear(FEATURES, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(x.flatten(1))


class Decoder(nn.Module):
    """(B, latent_dim) code -> (B, 1, 64, 64) image, unbounded (no output activation)."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        c = BASE_CHANNELS
        self.latent_dim = latent_dim
        self.fc = nn.Linear(latent_dim, FEATURES)  # -> (B, 256, 4, 4)
        self.layer1 = UpBlock(8 * c, 4 * c)  # (B, 128, 8, 8)
        self.layer2 = UpBlock(4 * c, 2 * c)  # (B, 64, 16, 16)
        self.layer3 = UpBlock(2 * c, c)  # (B, 32, 32, 32)
        self.layer4 = UpBlock(c, c)  # (B, 32, 64, 64)
        self.layer5 = UpBlock(c, 1, upsample=False)  # (B, 1, 64, 64): one more 3x3 at full size

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.fc(z).view(-1, LOW_CHANNELS, LOW_SIZE, LOW_SIZE)
        return self.layer5(self.layer4(self.layer3(self.layer2(self.layer1(x)))))


class Discriminator(Encoder):
    """The encoder's layers with one real/fake logit: (B, 1, 64, 64) -> (B, 1).

    Faces arrive in [0, 1] and are mapped to [-1, 1] first, as every reference discriminator
    is fed: its first layer has no batch norm to remove their mean (0.52, three times their
    pixel sd), and DiffAugment's gaps are mid-gray in either range
    (docs/models.md#the-discriminators-input). ``recon_head``: FastGAN's self-supervised
    reconstruction head (Liu et al. 2021), which must redraw each real face at 32 x 32 from
    the 8 x 8 features, so those features describe the whole face rather than the few cues
    that tell the training faces from generated ones."""

    def __init__(self, recon_head: bool = False) -> None:
        super().__init__(out_features=1)
        if recon_head:
            self.recon_head = ReconstructionHead(4 * BASE_CHANNELS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits_and_features(x)[0]

    def logits_and_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 1) logits and the (B, 128, 8, 8) features the reconstruction head reads."""
        features = self.layer3(self.layer2(self.layer1(2 * x - 1)))
        return self.fc(self.layer4(features).flatten(1)), features  # layer4: (B, 256, 4, 4)


class ReconstructionHead(nn.Sequential):
    """(B, C, 8, 8) features -> (B, 1, 32, 32) image, unbounded (it is compared with augmented
    faces, which leave [0, 1]): two resize-convolutions."""

    def __init__(self, in_channels: int) -> None:
        c = BASE_CHANNELS
        super().__init__(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(in_channels, 2 * c, kernel_size=3, padding=1),  # (B, 64, 16, 16)
            nn.LeakyReLU(0.2, inplace=True),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(2 * c, c, kernel_size=3, padding=1),  # (B, 32, 32, 32)
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(c, 1, kernel_size=3, padding=1),  # (B, 1, 32, 32)
        )
