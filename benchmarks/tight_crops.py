"""The judges on tight crops: the real floor against the PCA Gaussian, on the ORL demo faces as
prepared (loose crops: hair, ears, background), on a centre-crop version of them (each
face's central ``--crop`` pixels resized back to 64 x 64) and on a registered version (each
face turned, scaled and moved so its eyes land where the faces' median eyes are, as the
crops of face sets like CK are registered), scored by evaluate's own code. On the user's
tight crops the face detector found a face in PCA samples as often as in photographs; this
shows which demo variant does the same, and which numbers still tell real faces from
eigenface samples there.

    python -m benchmarks.tight_crops               # about 2 minutes on 2 cores
    python -m benchmarks.tight_crops --crop 48 --draws 4
    python -m benchmarks.tight_crops --gan-epochs 400   # and the dcgan GAN on the registered faces

Prints a markdown table: face rate, SWD and c2st (mean ± sd over the draws) per data and set.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from benchmarks.architectures import DCGAN_SETTINGS
from benchmarks.stage_timer import ROOT, prepare_demo
from facegen import IMAGE_SIZE
from facegen.config import EvaluateConfig, GANConfig, load_params
from facegen.io import Faces, grid, png_bytes
from facegen.judge import FaceJudges, Likeness, Reference, judge_real
from facegen.judge.evaluate import Contender, model_sampler, score_draws
from facegen.judge.face_judges import DETECTOR_SIZE, model_files, to_detector_images
from facegen.judge.report import summarise
from facegen.models import GAN
from facegen.train.gan import train_gan

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


def eye_centres(images: torch.Tensor) -> np.ndarray:
    """(N, 2, 2) centres (x, y) of the two eyes, in 64-px units, of uint8 (N, 1, 64, 64) faces:
    dlib's 5-point landmarks (two corners per eye), found as the identity judge finds them."""
    import dlib

    predictor = dlib.shape_predictor(str(model_files()["landmarks"]))
    whole = dlib.rectangle(0, 0, DETECTOR_SIZE - 1, DETECTOR_SIZE - 1)
    centres = []
    for image in to_detector_images(images):
        shape = predictor(np.repeat(image[:, :, None], 3, axis=2), whole)
        corners = np.array([(shape.part(i).x, shape.part(i).y) for i in range(4)], dtype=np.float64)
        centres.append([corners[0:2].mean(0), corners[2:4].mean(0)])
    return np.array(centres) * IMAGE_SIZE / DETECTOR_SIZE


def registered_face(image: np.ndarray, eyes: np.ndarray, target: np.ndarray) -> np.ndarray:
    """One (64, 64) uint8 face turned, scaled and moved (a similarity transform) so that its
    ``eyes`` (2, 2) land on ``target``; the border is repeated into any gap."""
    source, step = eyes[1] - eyes[0], target[1] - target[0]
    scale = np.linalg.norm(source) / np.linalg.norm(step)
    angle = np.arctan2(source[1], source[0]) - np.arctan2(step[1], step[0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    pad = IMAGE_SIZE // 2
    offset = eyes[0] + pad - rotation @ target[0]  # output pixel -> padded input pixel
    padded = Image.fromarray(np.pad(image, pad, mode="edge"))
    coefficients = (*rotation[0], offset[0], *rotation[1], offset[1])
    return np.asarray(padded.transform((IMAGE_SIZE, IMAGE_SIZE), Image.AFFINE, coefficients, Image.BICUBIC))


def registered(faces: Faces) -> Faces:
    """Every face registered on the median eye centres of all of them (see :func:`registered_face`)."""
    eyes = eye_centres(torch.cat(list(faces)))
    target = np.median(eyes, axis=0)
    parts, start = [], 0
    for part in faces:
        stop = start + len(part)
        moved = [
            registered_face(image[0], e, target)
            for image, e in zip(part.numpy(), eyes[start:stop], strict=True)
        ]
        parts.append(torch.from_numpy(np.stack(moved))[:, None])
        start = stop
    return Faces(*parts)


def dcgan_gan(faces: Faces, epochs: int) -> GAN:
    """The README's dcgan GAN (``DCGAN_SETTINGS``) trained for ``epochs`` on ``faces.train``."""
    settings = DCGAN_SETTINGS["gan"] | {"epochs": epochs, "snapshot_every": epochs}
    model, _ = train_gan(faces.train, GANConfig(**settings), lambda epoch, snapshot: None)
    return model.cpu().eval()


def judged(
    faces: Faces, config: EvaluateConfig, judges: FaceJudges, models: dict[str, GAN] | None = None
) -> dict[str, dict[str, float]]:
    """The real floor's, the PCA Gaussian's and ``models``' numbers, summarised over draws."""
    reference = Reference(faces, config)
    likeness = Likeness(judge_real(faces, judges, config.seed), judges)
    contenders = {
        "real_vs_real": Contender(reference.real_faces, memorisation=False, identity=False),
        "pca_gaussian": Contender(reference.pca_faces, identity=False),
    } | {name: Contender(model_sampler(model, config.seed)) for name, model in (models or {}).items()}
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


def figure(variants: dict[str, Faces], config: EvaluateConfig, count: int = 8) -> bytes:
    """Two rows per variant: ``count`` training faces, then as many PCA-Gaussian samples."""
    rows = []
    for faces in variants.values():
        rows.append(faces.train[:: len(faces.train) // count][:count].float() / 255)
        rows.append(Reference(faces, config).pca_faces(count, 0).float().clamp(0, 1))
    return png_bytes(grid(torch.cat(rows), count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crop", type=int, default=52, help="side of the central square kept, in pixels")
    parser.add_argument("--draws", type=int, default=8)
    parser.add_argument(
        "--gan-epochs",
        type=int,
        default=0,
        help="also train the README's dcgan GAN this long on the registered faces",
    )
    parser.add_argument(
        "--figure", type=Path, help="write the figure of each variant's faces and PCA samples here"
    )
    args = parser.parse_args()
    config = EvaluateConfig(draws=args.draws)
    with tempfile.TemporaryDirectory() as folder:
        faces = demo_faces(Path(folder))
    variants = {
        "loose (as prepared)": faces,
        f"central {args.crop} px": tight(faces, args.crop),
        "registered (eyes on the median eyes)": registered(faces),
    }
    if args.figure:
        args.figure.write_bytes(figure(variants, config))
    results = {}
    with FaceJudges() as judges:
        for data, variant in variants.items():
            models = {}
            if args.gan_epochs and data.startswith("registered"):
                models["dcgan_gan"] = dcgan_gan(variant, args.gan_epochs)
            results[data] = judged(variant, config, judges, models)
            print(f"judged {data}", flush=True)
    print(table(results))


if __name__ == "__main__":
    main()
