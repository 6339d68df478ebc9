"""Judging the generators with numbers, next to two baselines computed on the same faces.

Every snapshot of each model is scored once (the per-epoch curves, on the validation people);
each final model (``checkpoint.pt``, the weights as trained) and both baselines, the real
floor (half B of the pool) and the PCA Gaussian, are scored over ``evaluate.draws`` draws of
fresh faces, halves and directions (the reported numbers, on the test people). Which faces:
:mod:`facegen.judge.reference`. The numbers: sliced Wasserstein distance (:mod:`~facegen.judge.swd`),
precision, recall and memorisation (:mod:`~facegen.judge.neighbours`), the classifier
two-sample test (:mod:`~facegen.judge.c2st`), the face judges' ``face_rate`` and
``identity_ratio`` (:mod:`~facegen.judge.likeness`), and the VAE's held-out reconstruction
error, KL and ELBO. What is kept where: :mod:`facegen.judge.report`. Every draw's randomness
follows one rule (:func:`~facegen.judge.reference.draw_seed`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from tqdm import tqdm

from facegen.config import EvaluateConfig
from facegen.io import Faces
from facegen.judge.c2st import c2st_features, classifier_two_sample_test
from facegen.judge.face_judges import FaceJudges
from facegen.judge.likeness import Likeness
from facegen.judge.reference import BOOTSTRAP, SAMPLES, Reference, draw_seed
from facegen.judge.report import Row, draw_table, headline, rounded, summarise
from facegen.models import GAN, VAE, ModelDir, fixed_codes, from_checkpoint, read_checkpoint
from facegen.models.elbo import elbo, fixed_variance, mean_terms
from facegen.progress import progress as stage_progress
from facegen.runtime import CPU, share_cpus

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
        return model.generate(fixed_codes(count, model.latent_dim, draw_seed(seed, draw, SAMPLES))).clamp(
            0, 1
        )

    return sample


def trained_variance(model: VAE, pixel_variance: str, reference: Reference, seed: int) -> float:
    """The variance per pixel the VAE trained with (``vae.pixel_variance``): 1/2 (``fixed``),
    or the mean squared error per pixel it reaches on the training faces (``calibrated``)."""
    fixed = fixed_variance(pixel_variance)
    if fixed is not None:
        return fixed
    faces = reference.pool[reference.halves(0)[0]]  # uint8
    terms = mean_terms(model, faces, 1.0, HELDOUT_BATCH, CPU, seed)
    return terms["recon_loss"] / faces[0].numel()


def bootstrap_terms(model: VAE, faces: torch.Tensor, draw: int, seed: int, variance: float) -> Row:
    """Reconstruction error, KL and ELBO per image (nats, under the variance it trained with)
    of a bootstrap resample of held-out uint8 ``faces``: their spread over draws is the
    estimate's standard error."""
    rng = torch.Generator().manual_seed(draw_seed(seed, draw, BOOTSTRAP))
    resample = faces[torch.randint(len(faces), (len(faces),), generator=rng)]
    terms = mean_terms(model, resample, 1.0, HELDOUT_BATCH, CPU, draw_seed(seed, draw))
    value = elbo(terms["recon_loss"], terms["kl_loss"], faces[0].numel(), variance)
    return {"recon_loss": terms["recon_loss"], "kl_loss": terms["kl_loss"], "elbo": value}


def score_snapshots(
    model_dir: ModelDir, name: str, reference: Reference, likeness: Likeness, progress: tqdm | None = None
) -> list[Row]:
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
            variance = trained_variance(model, ckpt["config"]["pixel_variance"], reference, seed)
            row |= bootstrap_terms(model, reference.heldout["val"], 0, seed, variance)
        rows.append({"epoch": epoch} | row)
        if progress is not None:
            progress.update()
        log.info(
            "%s epoch %d: swd %.1f, precision %.2f, recall %.2f",
            name,
            epoch,
            row["swd"],
            row["precision"],
            row["recall"],
        )
    return rows


def score_draws(
    reference: Reference,
    contenders: dict[str, Contender],
    likeness: Likeness | None,
    progress: tqdm | None = None,
    draws: range | None = None,
) -> dict[str, list[Row]]:
    """Per set, a row per draw (``draws``; by default ``evaluate.draws`` from 0), with the
    classifier two-sample test's accuracy (``c2st``); its faces go to the face judges, where
    given, under the key ("draw", name, draw). Draw by draw, so each draw's half A is
    prepared once for all sets (each set is seeded by the draw: the order is free)."""
    draws = draws if draws is not None else range(reference.config.draws)
    rows: dict[str, list[Row]] = {name: [] for name in contenders}
    pairs = []
    for draw in draws:
        for name, contender in contenders.items():
            images = contender.faces(reference.n, draw)
            if likeness is not None:
                identity = IDENTITY_FACES if contender.identity else 0
                likeness.submit(("draw", name, draw), images, DRAW_FACES, identity)
            rows[name].append(reference.compare(images, draw, contender.memorisation))
            pairs.append((reference.real_features(draw), c2st_features(images)))
            if progress is not None:
                progress.update()
    accuracy = classifier_two_sample_test(pairs).mean(1).view(len(draws), len(contenders))
    for i, set_rows in enumerate(rows.values()):
        for j, row in enumerate(set_rows):
            row["c2st"] = accuracy[j, i].item()
    return rows


def score_heldout(vae: VAE, pixel_variance: str, reference: Reference, rows: list[Row]) -> None:
    """Add the VAE's held-out terms of each draw to its row: on the test people, and with
    ``val_`` on the validation people."""
    seed = reference.config.seed
    variance = trained_variance(vae, pixel_variance, reference, seed)
    for draw, row in enumerate(rows):
        row |= bootstrap_terms(vae, reference.heldout["test"], draw, seed, variance)
        val = bootstrap_terms(vae, reference.heldout["val"], draw, seed, variance)
        row |= {f"val_{k}": v for k, v in val.items()}


def final_models(vae_dir: ModelDir, gan_dir: ModelDir) -> tuple[VAE, GAN, str]:
    """Both final checkpoints as trained, and the pixel variance the VAE trained with."""
    vae_ckpt = read_checkpoint(vae_dir.checkpoint_path)
    vae = CPU.place(from_checkpoint(vae_ckpt))
    gan = CPU.place(from_checkpoint(read_checkpoint(gan_dir.checkpoint_path)))
    return vae, gan, vae_ckpt["config"]["pixel_variance"]


def evaluate_all(
    vae_dir: ModelDir, gan_dir: ModelDir, faces: Faces, config: EvaluateConfig, real: dict[str, Any]
) -> Evaluation:
    """Score both models' snapshots and final checkpoints against the baselines; ``real``:
    the face judges' record of the real faces (:func:`~facegen.judge.likeness.judge_real`).
    Torch computes on the CPUs no other work holds as it starts (the report records how many)."""
    threads = share_cpus()
    reference = Reference(faces, config)
    held = reference.heldout
    log.info(
        "real pool: %d training faces, halves of %d; held out: %d validation, %d test faces; %d draws",
        *(len(reference.pool), reference.n, len(held["val"]), len(held["test"]), config.draws),
    )
    vae, gan, pixel_variance = final_models(vae_dir, gan_dir)
    contenders = {
        "vae": Contender(model_sampler(vae, config.seed)),
        "gan": Contender(model_sampler(gan, config.seed)),
        "real_vs_real": Contender(reference.real_faces, memorisation=False, identity=False),
        "pca_gaussian": Contender(reference.pca_faces, identity=False),
    }
    models = {"vae": vae_dir, "gan": gan_dir}
    sets = sum(len(d.snapshots()) for d in models.values()) + config.draws * len(contenders)
    with FaceJudges(threads) as judges, stage_progress(sets, "set", "evaluate: scored") as progress:
        likeness = Likeness(real, judges)
        curves = {name: score_snapshots(d, name, reference, likeness, progress) for name, d in models.items()}
        draws = score_draws(reference, contenders, likeness, progress)
        score_heldout(vae, pixel_variance, reference, draws["vae"])
        verdicts = likeness.verdicts()
    for name, rows in curves.items():
        curves[name] = [rounded(row | verdicts["snapshot", name, row["epoch"]]) for row in rows]
    for name, rows in draws.items():
        for draw, row in enumerate(rows):
            row |= {k: v for k, v in verdicts["draw", name, draw].items() if k != "face_rate_se"}
    summaries = {name: summarise(rows) for name, rows in draws.items()}
    brightness = dict(zip(("brightness", "contrast"), reference.brightness_contrast(), strict=True))
    report = {
        "sets": summaries,
        "real": rounded(brightness | likeness.real),
        "settings": settings(reference, faces, config) | {"threads": threads},
    }
    return Evaluation(headline(summaries), report, draw_table(draws), curves)


def settings(reference: Reference, faces: Faces, config: EvaluateConfig) -> dict[str, int]:
    """How many faces each number rests on."""
    counts = {"real_pool": len(reference.pool), "faces_per_set": reference.n}
    counts |= {"validation_faces": len(faces.val), "test_faces": len(faces.test), "draws": config.draws}
    counts |= {"pca_dims": len(reference.pca.scales), "k": config.k, "seed": config.seed}
    counts |= {"detected_per_draw": DRAW_FACES, "embedded_per_draw": IDENTITY_FACES}
    return counts | {"detected_per_snapshot": SNAPSHOT_FACES}
