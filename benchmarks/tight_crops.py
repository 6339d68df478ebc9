"""The judges on tight crops: the real floor against the PCA Gaussian, on the ORL demo faces as
prepared (loose crops: hair, ears, background) and on a tight-crop version of them (each
face's central ``--crop`` pixels resized back to 64 x 64, as CK's crops are), scored by
evaluate's own code. On the user's tight crops the face detector found a face in PCA samples
as often as in photographs; this shows whether the demo's tight version does the same, and
which numbers still tell real faces from eigenface samples there.

    python -m benchmarks.tight_crops               # about 1 minute on 2 cores
    python -m benchmarks.tight_crops --crop 48 --draws 4

Prints a markdown table: face rate, SWD and c2st (mean ± sd over the draws) per data and set.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F

from benchmarks.stage_timer import ROOT, prepare_demo
from facegen import IMAGE_SIZE
from facegen.config import EvaluateConfig, load_params
from facegen.io import Faces
from facegen.judge import FaceJudges, Likeness, Reference, judge_real
from facegen.judge.evaluate import Contender, score_draws
from facegen.judge.report import summarise

NUMBERS = ("face_rate", "swd", "c2st")


def demo_faces(folder: Path) -> Faces:
    """The ORL demo faces, prepared and split by people as the pipeline does."""
    parts, _ = prepare_demo(folder, load_params(ROOT / "params.yaml"))
    return Faces(*(torch.from_numpy(parts[name][:, None]) for name in Faces._fields))


def tight(faces: Faces, crop: int) -> Faces:
    """Each face's central ``crop`` x ``crop`` pixels, resized back to 64 x 64 (uint8)."""
    start = (IMAGE_SIZE - crop) // 2

    def cropped(images: torch.Tensor) -> torch.Tensor:  # uint8 (N, 1, 64, 64)
        centre = images[..., start : start + crop, start : start + crop].float()
        resized = F.interpolate(centre, size=IMAGE_SIZE, mode="bilinear", antialias=True, align_corners=False)
        return resized.round().clamp(0, 255).to(torch.uint8)

    return Faces(*(cropped(part) for part in faces))


def judged(faces: Faces, config: EvaluateConfig, judges: FaceJudges) -> dict[str, dict[str, float]]:
    """The real floor's and the PCA Gaussian's numbers, summarised over draws."""
    reference = Reference(faces, config)
    likeness = Likeness(judge_real(faces, judges, config.seed), judges)
    contenders = {
        "real_vs_real": Contender(reference.real_faces, memorisation=False, identity=False),
        "pca_gaussian": Contender(reference.pca_faces, identity=False),
    }
    draws = score_draws(reference, contenders, likeness)
    verdicts = likeness.verdicts()
    for name, rows in draws.items():
        for draw, row in enumerate(rows):
            row["face_rate"] = verdicts["draw", name, draw]["face_rate"]
    return {name: summarise(rows) for name, rows in draws.items()} | {"real": likeness.real}


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = ["| data | set | " + " | ".join(NUMBERS) + " |", "|---|---|" + "---|" * len(NUMBERS)]
    for data, sets in results.items():
        for name, row in sets.items():
            if name != "real":
                cells = [f"{row[k]:.3g} ± {row[k + '_sd']:.2g}" for k in NUMBERS]
                lines.append(f"| {data} | {name} | " + " | ".join(cells) + " |")
        held_out = sets["real"]["heldout_face_rate"]
        lines.append(f"| {data} | held-out people (detector only) | {held_out:.3g} | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crop", type=int, default=52, help="side of the central square kept, in pixels")
    parser.add_argument("--draws", type=int, default=8)
    args = parser.parse_args()
    config = EvaluateConfig(draws=args.draws)
    with tempfile.TemporaryDirectory() as folder:
        faces = demo_faces(Path(folder))
    results = {}
    with FaceJudges() as judges:
        for data, variant in (
            ("loose (as prepared)", faces),
            (f"tight ({args.crop} px)", tight(faces, args.crop)),
        ):
            results[data] = judged(variant, config, judges)
            print(f"judged {data}", flush=True)
    print(table(results))


if __name__ == "__main__":
    main()
