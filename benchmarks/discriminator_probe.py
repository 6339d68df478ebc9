"""Can a discriminator alone learn to tell faces apart? The dcgan discriminator, as it was and
as it is, against a task it must solve before it can teach a generator: real ORL faces
against the same faces blurred 4x (averaged over 4 x 4 blocks, then resized back), batch
16 + 16 in one pass, Adam 4e-4 (0.5, 0.999), the project's loss (``ns``, real label 0.9).
After ``--steps`` steps it prints the mean logit gap, real minus blurred, on the 80 faces of
the 8 people it never saw, over ``--seeds``: a discriminator that learned only its bias has a
gap of 0.

    python -m benchmarks.discriminator_probe                 # about a minute on 2 cores

The "before" row feeds the faces as the discriminator saw them until commit 24b7668: in
[0, 1] (here x' = (x + 1) / 2, which the centring 2x' - 1 maps back to x). Commit ffdd887's
version of this script also measured the spectral-norm discriminator (``gan.spectral_norm``,
deleted since: docs/models.md#the-discriminators-input has its numbers).
"""

from __future__ import annotations

import argparse
import statistics

import torch
import torch.nn.functional as F
from torch import nn

from facegen.data.demo import orl_faces
from facegen.models.dcgan import Discriminator
from facegen.train.adversarial import discriminator_logits, discriminator_losses

TRAIN_FACES = 320  # ORL's first 32 people; the last 8 are held out
BATCH = 16


def blurred(x: torch.Tensor) -> torch.Tensor:
    """(B, 1, 64, 64) faces averaged over 4 x 4 blocks and resized back: no detail finer than 4 px."""
    return F.interpolate(F.avg_pool2d(x, 4), scale_factor=4, mode="bilinear", align_corners=False)


class Uncentred(nn.Module):
    """The discriminator fed [0, 1] faces, as before: its own 2x - 1 undoes (x + 1) / 2."""

    def __init__(self, discriminator: nn.Module) -> None:
        super().__init__()
        self.inner = discriminator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner((x + 1) / 2)


VARIANTS = {
    "batch norm, [0, 1] input (before)": lambda: Uncentred(Discriminator()),
    "batch norm, centred (now)": lambda: Discriminator(),
}


def logit_gap(build, faces: torch.Tensor, steps: int, seed: int) -> float:
    """Train ``build()`` for ``steps`` on real against blurred training faces; the mean logit
    gap on the held-out faces."""
    torch.manual_seed(seed)
    rng = torch.Generator().manual_seed(seed)
    discriminator = build()
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=4e-4, betas=(0.5, 0.999))
    train, held_out = faces[:TRAIN_FACES], faces[TRAIN_FACES:]
    for _ in range(steps):
        real = train[torch.randint(len(train), (BATCH,), generator=rng)]
        fake = blurred(train[torch.randint(len(train), (BATCH,), generator=rng)])
        seen = discriminator_logits(discriminator, real, fake)
        d_loss_real, d_loss_fake = discriminator_losses(seen.real_logits, seen.fake_logits, 0.9)
        optimizer.zero_grad(set_to_none=True)
        (d_loss_real + d_loss_fake).backward()
        optimizer.step()
    with torch.no_grad():
        seen = discriminator_logits(discriminator, held_out, blurred(held_out))  # one joint pass, as trained
    return (seen.real_logits.mean() - seen.fake_logits.mean()).item()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    faces = torch.from_numpy(orl_faces()[:, None].copy()).float() / 255  # (400, 1, 64, 64) in [0, 1]
    print(f"| discriminator | held-out logit gap after {args.steps} steps, seeds {args.seeds} |")
    print("|---|---|")
    for name, build in VARIANTS.items():
        gaps = [logit_gap(build, faces, args.steps, seed) for seed in args.seeds]
        spread = statistics.stdev(gaps) if len(gaps) > 1 else 0.0
        print(f"| {name} | {statistics.mean(gaps):+.2f} ± {spread:.2f} |", flush=True)


if __name__ == "__main__":
    main()
