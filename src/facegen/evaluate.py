"""Judging the generators with numbers: sample quality (sliced Wasserstein distance,
precision and recall), memorisation, and the VAE's likelihood bound, at every snapshot
epoch, next to two baselines computed on the same data."""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from facegen import IMAGE_SIZE
from facegen.checkpoints import ModelDir, load_checkpoint
from facegen.config import EvaluateConfig
from facegen.data import to_float
from facegen.losses import heldout_vae_loss
from facegen.metrics import rounded
from facegen.models import GAN, VAE
from facegen.quality import PCA, nearest_distance, precision_recall, sliced_wasserstein
from facegen.render import fixed_latents, grid, walks
from facegen.runtime import CPU

log = logging.getLogger(__name__)

Row = dict[str, float]
FACE_SHAPE = (1, IMAGE_SIZE, IMAGE_SIZE)
# The comparison figure: 16 fixed codes through both models (2 rows of 8), and 3 walks of
# 8 steps between fixed codes (slerp: Gaussian codes keep a typical norm along the path).
COMPARE_SAMPLES, COMPARE_WALKS, COMPARE_STEPS, COMPARE_COLUMNS = 16, 3, 8, 8
HELDOUT_BATCH = 256  # batch of the VAE's held-out loss (eval mode: any size gives the same)


class Judge:
    """Everything that stays fixed across models and epochs: the held-out real faces split
    in two halves (A is the reference set, B gives the real-versus-real floor), the PCA
    feature space of the training faces, and the typical distance of a held-out face to its
    nearest training face."""

    def __init__(self, train: torch.Tensor, val: torch.Tensor, config: EvaluateConfig) -> None:
        self.config = config
        order = torch.randperm(len(val), generator=torch.Generator().manual_seed(config.seed))
        n = min(len(val) // 2, config.max_images)
        self.n = n
        self.n_generated = max(n, config.samples)  # enough for the half-set and memorisation
        self.real_a = to_float(val[order[:n]])
        self.real_b = to_float(val[order[n : 2 * n]])
        self.train = to_float(train)
        self.val = to_float(val)
        self.pca = PCA.fit(self.train, config.pca_dims)
        self.heldout_distance = nearest_distance(self.val, self.train).median().item()

    def quality(self, images: torch.Tensor) -> Row:
        """SWD, precision and recall of ``n`` images against real set A."""
        swd = sliced_wasserstein(images[: self.n], self.real_a, seed=self.config.seed)
        precision, recall = precision_recall(
            self.pca.project(self.real_a), self.pca.project(images[: self.n]), k=self.config.k
        )
        row = {"swd": sum(swd) / len(swd)} | {f"swd_{IMAGE_SIZE >> i}": v for i, v in enumerate(swd)}
        return row | {"precision": precision, "recall": recall}

    def memorisation(self, samples: torch.Tensor) -> Row:
        """Median distance of samples to their nearest training face, and its ratio to the
        same statistic for held-out real faces: near 1 is healthy, far below 1 means copies."""
        distance = nearest_distance(samples, self.train).median().item()
        return {"nn_train_distance": distance, "memorisation_ratio": distance / self.heldout_distance}

    def baselines(self) -> dict[str, Row]:
        gaussian = self.pca.sample(self.n_generated, FACE_SHAPE, self.config.seed)
        floor = self.quality(self.real_b) | {
            "nn_train_distance": self.heldout_distance,
            "memorisation_ratio": 1.0,
        }
        return {"real_vs_real": floor, "pca_gaussian": self.quality(gaussian) | self.memorisation(gaussian)}


@torch.no_grad()
def samples_of(model: VAE | GAN, z: torch.Tensor) -> torch.Tensor:
    return model.generate(z).clamp(0, 1)


def vae_likelihood(model: VAE, val: torch.Tensor, seed: int) -> Row:
    """Held-out reconstruction error, KL and ELBO per image, at kl_weight 1."""
    terms = heldout_vae_loss(model, val, 1.0, HELDOUT_BATCH, CPU, seed)
    return {"recon_loss": terms["recon_loss"], "kl_loss": terms["kl_loss"], "elbo": -terms["loss"]}


def evaluate_snapshots(
    model_dir: ModelDir, judge: Judge, val: torch.Tensor
) -> tuple[list[Row], VAE | GAN | None]:
    """One row of metrics per snapshot epoch; returns the rows and the last model."""
    rows, model = [], None
    for epoch, path in model_dir.snapshots():
        model = load_checkpoint(path)
        z = fixed_latents(judge.n_generated, model.latent_dim, judge.config.seed)
        images = samples_of(model, z)
        row = {"epoch": epoch} | judge.quality(images) | judge.memorisation(images)
        if isinstance(model, VAE):  # the VAE alone has a likelihood to report
            row |= vae_likelihood(model, val, judge.config.seed)
        rows.append(rounded(row, 4))
        log.info("%s epoch %d: %s", type(model).__name__, epoch, rounded(row, 3))
    return rows, model


def comparison_figure(
    vae: VAE, gan: GAN, vae_rows: list[Row], gan_rows: list[Row], baselines: dict[str, Row], seed: int
) -> bytes:
    """The same fixed z through both decoders, both interpolation walks, and the SWD curves."""
    z = fixed_latents(COMPARE_SAMPLES, vae.latent_dim, seed)
    ends = fixed_latents(2 * COMPARE_WALKS, vae.latent_dim, seed + 1)
    codes = walks(ends[0::2], ends[1::2], COMPARE_STEPS, "slerp")
    pictures = {
        "VAE: decoder(z)": grid(samples_of(vae, z), COMPARE_COLUMNS),
        "GAN: generator(z), the same z": grid(samples_of(gan, z), COMPARE_COLUMNS),
        "VAE: walk between fixed codes": grid(samples_of(vae, codes), COMPARE_STEPS),
        "GAN: walk between the same codes": grid(samples_of(gan, codes), COMPARE_STEPS),
    }
    figure = plt.figure(figsize=(12, 8.6))
    # Height ratios follow the grids (2 and 3 rows of tiles), then the curves.
    spec = figure.add_gridspec(3, 2, height_ratios=[2, 3, 4])
    for i, (title, image) in enumerate(pictures.items()):
        ax = figure.add_subplot(spec[i // 2, i % 2])
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
        ax.set_title(title)
        ax.axis("off")
    ax = figure.add_subplot(spec[2, :])
    for name, rows in (("VAE", vae_rows), ("GAN", gan_rows)):
        ax.plot([r["epoch"] for r in rows], [r["swd"] for r in rows], marker=".", label=name)
    styles = {"real_vs_real": ("k", "real vs real (floor)"), "pca_gaussian": ("gray", "PCA Gaussian (bar)")}
    for key, (color, label) in styles.items():
        ax.axhline(baselines[key]["swd"], color=color, linestyle="--", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("sliced Wasserstein distance x1000 (lower is better)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()


def evaluate_all(
    vae_dir: ModelDir,
    gan_dir: ModelDir,
    train: torch.Tensor,
    val: torch.Tensor,
    config: EvaluateConfig,
    progress: Callable[[str], None] = log.info,
) -> tuple[dict[str, Any], list[Row], list[Row], bytes]:
    """(summary for metrics/evaluate.json, per-epoch VAE rows, GAN rows, comparison PNG)."""
    judge = Judge(train, val, config)
    progress(f"evaluating against {judge.n} held-out faces, PCA with {len(judge.pca.scales)} dims")
    baselines = {k: rounded(v, 4) for k, v in judge.baselines().items()}
    vae_rows, vae = evaluate_snapshots(vae_dir, judge, val)
    gan_rows, gan = evaluate_snapshots(gan_dir, judge, val)
    summary = {
        "vae": vae_rows[-1],
        "gan": gan_rows[-1],
        "baselines": baselines,
        "settings": {
            "real_images": judge.n,
            "generated_images": judge.n_generated,
            "pca_dims": len(judge.pca.scales),
            "k": config.k,
            "seed": config.seed,
        },
    }
    assert vae is not None and gan is not None and not math.isnan(summary["vae"]["swd"])
    figure = comparison_figure(vae, gan, vae_rows, gan_rows, baselines, config.seed)
    return summary, vae_rows, gan_rows, figure
