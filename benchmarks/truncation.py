"""The truncation trick on a trained GAN (Brock et al. 2019): its codes scaled by psi < 1 before
the generator, which trades the variety of its faces for their typicality. Scored by
``evaluate``'s code on the validation people, as ``benchmarks.explore`` scores its variants,
and one sample grid per psi beside the snapshot's folder.

    python -m benchmarks.explore --workers 2 --only gan_r7_head --gan-epochs 400 --every 80
    python -m benchmarks.truncation explore/gan_r7_head_s0/snapshots/epoch_0400.pt --psi 1 0.8 0.7 0.6

Nothing here looks at the test people.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from facegen.config import EvaluateConfig
from facegen.io import Faces, grid, load_prepared, load_torch, png_bytes, write_bytes
from facegen.judge import FaceJudges, Likeness, Reference
from facegen.judge.evaluate import Contender, Sampler, model_sampler, score_draws
from facegen.judge.report import summarise
from facegen.models import GAN
from facegen.models.checkpoint import load_checkpoint

SHOWN = ("face_rate", "val_identity_ratio", "swd", "c2st", "precision", "recall", "contrast")


class Truncated:
    """``model`` with every code scaled by ``psi`` before its generator."""

    def __init__(self, model: GAN, psi: float) -> None:
        self.model, self.psi, self.latent_dim = model, psi, model.latent_dim

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.generate(self.psi * z)


def truncated(model: GAN, psi: float, seed: int) -> Sampler:
    """``evaluate``'s sampler (the same codes per draw) with every code scaled by ``psi``."""
    return model_sampler(Truncated(model, psi), seed)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("snapshot", type=Path, help="a GAN snapshot or checkpoint")
    parser.add_argument("--psi", type=float, nargs="+", default=[1.0, 0.8, 0.7])
    parser.add_argument("--data", default="data/prepared")
    parser.add_argument("--real-faces", default="data/real_faces.pt", help="the real_faces stage's record")
    parser.add_argument("--draws", type=int, default=4)
    args = parser.parse_args()
    model = load_checkpoint(args.snapshot)
    faces = load_prepared(args.data)
    reference = Reference(Faces(faces.train, faces.val, faces.val), EvaluateConfig(draws=args.draws))
    contenders = {f"psi {psi:g}": Contender(truncated(model, psi, 0)) for psi in args.psi}
    with FaceJudges(workers=1) as judges:
        likeness = Likeness(load_torch(args.real_faces), judges)
        rows = score_draws(reference, contenders, likeness)
        verdicts = likeness.verdicts()
    for (name, draws), psi in zip(rows.items(), args.psi, strict=True):
        final = summarise([row | verdicts["draw", name, draw] for draw, row in enumerate(draws)])
        print(f"{name:8s}" + "".join(f"  {k} {final[k]:.3g} ± {final[k + '_sd']:.2g}" for k in SHOWN))
        picture = png_bytes(grid(truncated(model, psi, 99)(64, 0), 8))
        write_bytes(args.snapshot.parent.parent / f"truncated_{psi:g}.png", picture)


if __name__ == "__main__":
    main()
