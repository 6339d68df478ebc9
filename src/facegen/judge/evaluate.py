"""Judging the generators with numbers, next to two baselines computed on the same faces.

Every snapshot of each model is scored once (the per-epoch curves, on the validation people);
each final model (``checkpoint.pt``, the weights as trained) and both baselines, the real
floor (half B of the pool) and the PCA Gaussian, are scored over ``evaluate.draws`` draws of
fresh faces, halves and directions (the reported numbers, on the test people). Which faces:
:mod:`facegen.judge.reference`. The numbers: sliced Wasserstein distance (:mod:`~facegen.judge.swd`),
precision, recall and memorisation (:mod:`~facegen.judge.neighbours`), the classifier
two-sample test (:mod:`~facegen.judge.c2st`), the face judges' ``face_rate`` and
``identity_ratio`` (:mod:`~facegen.judge.likeness`), and the VAE's held-out reconstruction
error, KL and ELBO. What is kept where: :mod:`facegen.judge.report`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from facegen.config import EvaluateConfig
from facegen.io import Faces
from facegen.judge.c2st import c2st_features, classifier_two_sample_test
from facegen.judge.face_judges import FaceJudges
from facegen.judge.likeness import Likeness
from facegen.judge.reference import Reference, Row
from facegen.judge.report import draw_table, headline, rounded, summarise
from facegen.models import GAN, VAE, ModelDir, fixed_codes, from_checkpoint, read_checkpoint
from facegen.runtime import CPU
from facegen.train.losses import elbo, fixed_decoder_variance, heldout_vae_loss

log = logging.getLogger(__name__)

Sampler = Callable[[int, int], torch.Tensor]  # (count, draw) -> faces in [0, 1]
SNAPSHOT_FACES = 100  # of each snapshot's, to the detector: a face rate's standard error <= 0.05
DRAW_FACES = 80  # of each final draw's, to the detector (7 ms each)
IDENTITY_FACES = 16  # of each final draw's, to the identity embedding (80 ms each)
HELDOUT_BATCH = 256  # batch of the VAE's held-out loss (eval mode: any size gives the same)


@dataclass(frozen=True)
class Contender:
    """A set of faces scored over draws against the real ones: a model's samples or a
    baseline's faces, drawn by ``faces(count, draw)``. ``memorisation``: whether distances to
    the nearest training face say something (not for training faces themselves);
    ``identity``: whether its faces are embedded to compare identities with the people's."""

    faces: Sampler
    memorisation: bool = True
    identity: bool = True


@dataclass(frozen=True)
class Evaluation:
    headline: dict[str, Row]  # metrics/evaluate.json
    report: dict[str, Any]  # every metric's mean and spread, the real faces', the settings
    draws: list[dict[str, Any]]  # one row per set and draw
    curves: dict[str, list[Row]]  # one row per snapshot epoch, per model


def model_sampler(model: VAE | GAN, seed: int) -> Sampler:
    """Fresh standard-normal codes for every draw, through ``model.generate``."""

    @torch.no_grad()
    def sample(count: int, draw: int) -> torch.Tensor:
        return model.generate(fixed_codes(count, model.latent_dim, seed * 1000 + 100 + draw)).clamp(0, 1)

    return sample


def decoder_variance(model: VAE, decoder: str, reference: Reference, seed: int) -> float:
    """The variance per pixel of the decoder the VAE trained with: 1/2 (``fixed``), or the
    mean squared error per pixel it reaches on the training faces (``calibrated``)."""
    fixed = fixed_decoder_variance(decoder)
    if fixed is not None:
        return fixed
    faces = reference.pool[reference.halves(0)[0]]  # uint8
    terms = heldout_vae_loss(model, faces, 1.0, HELDOUT_BATCH, CPU, seed)
    return terms["recon_loss"] / faces[0].numel()


def vae_heldout(model: VAE, faces: torch.Tensor, draw: int, seed: int, variance: float) -> Row:
    """Reconstruction error, KL and ELBO per image (nats, under the decoder it trained with)
    of a bootstrap resample of held-out uint8 ``faces``: their spread over draws is the estimate's
    standard error."""
    generator = torch.Generator().manual_seed(seed * 1000 + 200 + draw)
    resample = faces[torch.randint(len(faces), (len(faces),), generator=generator)]
    terms = heldout_vae_loss(model, resample, 1.0, HELDOUT_BATCH, CPU, seed * 1000 + draw)
    value = elbo(terms["recon_loss"], terms["kl_loss"], faces[0].numel(), variance)
    return {"recon_loss": terms["recon_loss"], "kl_loss": terms["kl_loss"], "elbo": value}


def score_snapshots(model_dir: ModelDir, name: str, reference: Reference, likeness: Likeness) -> list[Row]:
    """One row per snapshot epoch (one draw; memorisation and the VAE's held-out terms on the
    validation people); its first :data:`SNAPSHOT_FACES` faces go to the detector under the
    key ("snapshot", name, epoch)."""
    rows, seed = [], reference.config.seed
    for epoch, path in model_dir.snapshots():
        ckpt = read_checkpoint(path)
        model = CPU.place(from_checkpoint(ckpt))
        images = model_sampler(model, seed)(reference.n, 0)
        likeness.submit(("snapshot", name, epoch), images, detect=SNAPSHOT_FACES)
        row = reference.compare(images, 0)
        row["memorisation_ratio"] = row.pop("val_memorisation_ratio")  # test faces: reported once
        if isinstance(model, VAE):
            variance = decoder_variance(model, ckpt["config"]["decoder"], reference, seed)
            row |= vae_heldout(model, reference.heldout["val"], 0, seed, variance)
        rows.append({"epoch": epoch} | row)
        log.info(
            "%s epoch %d: swd %.1f, precision %.2f, recall %.2f",
            name,
            epoch,
            row["swd"],
            row["precision"],
            row["recall"],
        )
    if not rows:
        raise FileNotFoundError(f"{model_dir.snapshots_path}: no snapshots")
    return rows


def score_draws(
    reference: Reference, contenders: dict[str, Contender], likeness: Likeness
) -> dict[str, list[Row]]:
    """Per set, every draw's row, with the classifier two-sample test's accuracy (``c2st``);
    its faces go to the face judges under the key ("draw", name, draw). Draw by draw, so each draw's
    half A is prepared once for all sets (each set is seeded by the draw: the order is free)."""
    draws: dict[str, list[Row]] = {name: [] for name in contenders}
    pairs = []
    for draw in range(reference.config.draws):
        for name, contender in contenders.items():
            images = contender.faces(reference.n, draw)
            likeness.submit(
                ("draw", name, draw), images, DRAW_FACES, IDENTITY_FACES if contender.identity else 0
            )
            draws[name].append(reference.compare(images, draw, contender.memorisation))
            pairs.append((reference.real_features(draw), c2st_features(images)))
    accuracy = classifier_two_sample_test(pairs).mean(1).view(reference.config.draws, len(contenders))
    for i, rows in enumerate(draws.values()):
        for draw, row in enumerate(rows):
            row["c2st"] = accuracy[draw, i].item()
    return draws


def final_models(vae_dir: ModelDir, gan_dir: ModelDir) -> tuple[VAE, GAN, str]:
    """Both final checkpoints as trained, and the decoder the VAE trained with."""
    vae_ckpt = read_checkpoint(vae_dir.checkpoint_path)
    vae = CPU.place(from_checkpoint(vae_ckpt))
    gan = CPU.place(from_checkpoint(read_checkpoint(gan_dir.checkpoint_path)))
    return vae, gan, vae_ckpt["config"]["decoder"]


def evaluate_all(
    vae_dir: ModelDir, gan_dir: ModelDir, faces: Faces, config: EvaluateConfig, real: dict[str, Any]
) -> Evaluation:
    """Score both models' snapshots and final checkpoints against the baselines; ``real``:
    the face judges' record of the real faces (:func:`~facegen.judge.likeness.judge_real`)."""
    reference = Reference(faces, config)
    log.info(
        "real pool: %d training faces, halves of %d; held out: %d validation, %d test faces; %d draws",
        len(reference.pool), reference.n, len(reference.heldout["val"]), len(reference.heldout["test"]), config.draws,
    )  # fmt: skip
    vae, gan, decoder = final_models(vae_dir, gan_dir)
    contenders = {
        "vae": Contender(model_sampler(vae, config.seed)),
        "gan": Contender(model_sampler(gan, config.seed)),
        "real_vs_real": Contender(reference.real_faces, memorisation=False, identity=False),
        "pca_gaussian": Contender(reference.pca_faces, identity=False),
    }
    with FaceJudges() as judges:
        likeness = Likeness(real, judges)
        curves = {
            name: score_snapshots(d, name, reference, likeness)
            for name, d in (("vae", vae_dir), ("gan", gan_dir))
        }
        draws = score_draws(reference, contenders, likeness)
        variance = decoder_variance(vae, decoder, reference, config.seed)
        for draw, row in enumerate(draws["vae"]):
            row |= vae_heldout(vae, reference.heldout["test"], draw, config.seed, variance)
            row |= {
                f"val_{k}": v
                for k, v in vae_heldout(vae, reference.heldout["val"], draw, config.seed, variance).items()
            }
        verdicts = likeness.verdicts()
    for name, rows in curves.items():
        curves[name] = [rounded(row | verdicts["snapshot", name, row["epoch"]]) for row in rows]
    for name, rows in draws.items():
        for draw, row in enumerate(rows):
            row |= {k: v for k, v in verdicts["draw", name, draw].items() if k != "face_rate_se"}
    summaries = {name: summarise(rows) for name, rows in draws.items()}
    report = {
        "sets": summaries,
        "real": rounded(
            dict(zip(("brightness", "contrast"), reference.brightness_contrast(), strict=True))
            | likeness.real
        ),
        "settings": settings(reference, faces, config),
    }
    return Evaluation(headline(summaries), report, draw_table(draws), curves)


def settings(reference: Reference, faces: Faces, config: EvaluateConfig) -> dict[str, int]:
    """How many faces each number rests on."""
    return {
        "real_pool": len(reference.pool), "faces_per_set": reference.n, "validation_faces": len(faces.val),
        "test_faces": len(faces.test), "draws": config.draws, "pca_dims": len(reference.pca.scales), "k": config.k,
        "seed": config.seed, "detected_per_draw": DRAW_FACES, "embedded_per_draw": IDENTITY_FACES,
        "detected_per_snapshot": SNAPSHOT_FACES,
    }  # fmt: skip
