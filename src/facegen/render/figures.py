"""Figures: each model's loss curves, and the comparison of both models with real faces
(samples for the same codes, walks, and the quality curves against the baselines)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display needed; must precede pyplot
import matplotlib.pyplot as plt
import torch

from facegen.io import grid
from facegen.models import GAN, VAE, fixed_codes
from facegen.render.walks import walks

# Panels of the loss-curve figures: panel title -> table columns.
LOSS_PANELS = {
    "vae": {
        "loss (recon + kl_weight * KL)": ("train_loss", "val_loss"),
        "reconstruction: sum of squared errors": ("train_recon_loss", "val_recon_loss"),
        "KL divergence": ("train_kl_loss", "val_kl_loss"),
        # only a dcgan VAE trained with vae.adversarial > 0 logs these
        "critic of its reconstructions (non-saturating)": ("train_g_loss", "train_d_loss"),
    },
    "gan": {
        "losses (binary cross-entropy)": ("d_loss_real", "d_loss_fake", "g_loss"),
        "discriminator outputs": ("d_real", "d_fake"),
    },
}
# The comparison figure: 16 fixed codes through both models (2 rows of 8), and 3 walks of
# 8 steps between fixed codes (slerp: Gaussian codes keep a typical norm along the path).
COMPARE_SAMPLES, COMPARE_WALKS, COMPARE_STEPS, COMPARE_COLUMNS = 16, 3, 8, 8
BASELINES = {"real_vs_real": ("k", "real vs real (floor)"), "pca_gaussian": ("gray", "PCA Gaussian (bar)")}
QUALITY_PANELS = {
    "swd": "sliced Wasserstein distance x1000 (lower is better)",
    "face_rate": "share of faces found by the face detector",
}


def png(figure: plt.Figure, dpi: int) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)
    return buffer.getvalue()


def loss_curves_png(rows: Sequence[dict[str, float]], panels: dict[str, Sequence[str]], title: str) -> bytes:
    """One panel per entry of ``panels`` (panel title -> table columns) whose columns the
    table has, epoch on x."""
    epochs = [row["epoch"] for row in rows]
    panels = {panel: columns for panel, columns in panels.items() if all(c in rows[0] for c in columns)}
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    for ax, (panel, columns) in zip(axes[0], panels.items(), strict=True):
        for column in columns:
            ax.plot(
                epochs, [row[column] for row in rows], label=column, marker="." if len(epochs) < 30 else None
            )
        values = [row[c] for row in rows for c in columns]
        if min(values) > 0 and max(values) / min(values) > 20:
            ax.set_yscale("log")  # the first epochs would flatten everything after them
        ax.set_title(panel)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    return png(figure, 100)


@torch.no_grad()
def comparison_pictures(real: torch.Tensor, vae: VAE, gan: GAN, seed: int) -> tuple[dict, dict]:
    """The figure's pictures: real faces beside the same fixed codes through both models, and
    both models' walks."""
    z = fixed_codes(COMPARE_SAMPLES, vae.latent_dim, seed)
    ends = fixed_codes(2 * COMPARE_WALKS, vae.latent_dim, seed + 1)
    samples = {
        "real training faces": grid(real, COMPARE_COLUMNS),
        "VAE: generate(z)": grid(vae.generate(z).clamp(0, 1), COMPARE_COLUMNS),
        "GAN: generate(z), the same z": grid(gan.generate(z), COMPARE_COLUMNS),
    }
    # The VAE walks in its own code space, straight between two samples of its prior (a
    # mixture prior's component would jump along a walk in z); the GAN between the codes.
    vae_ends = vae.prior_codes(ends)
    vae_codes = walks(vae_ends[0::2], vae_ends[1::2], COMPARE_STEPS, "lerp")
    codes = walks(ends[0::2], ends[1::2], COMPARE_STEPS, "slerp")
    walk = {
        "VAE: walk between two samples of its prior": grid(vae.decoder(vae_codes).clamp(0, 1), COMPARE_STEPS),
        "GAN: walk between the same codes": grid(gan.generate(codes), COMPARE_STEPS),
    }
    return samples, walk


def quality_panel(ax: plt.Axes, metric: str, curves: dict[str, list[dict]], report: dict[str, Any]) -> None:
    """One quality curve per model over epochs (the face rate with its standard error),
    against the baselines' mean and spread over draws."""
    for name, rows in curves.items():
        epochs, values = [r["epoch"] for r in rows], [r[metric] for r in rows]
        ax.plot(epochs, values, marker=".", label=name.upper())
        if metric == "face_rate":
            se = torch.tensor([r["face_rate_se"] for r in rows])
            ax.fill_between(epochs, torch.tensor(values) - se, torch.tensor(values) + se, alpha=0.2)
    for key, (color, label) in BASELINES.items():
        mean, sd = report["sets"][key][metric], report["sets"][key][f"{metric}_sd"]
        ax.axhline(mean, color=color, linestyle="--", label=f"{label}, mean ± sd")
        ax.axhspan(mean - sd, mean + sd, color=color, alpha=0.15)
    if metric == "swd":
        ax.set_yscale("log")
    else:
        heldout = report["real"]["heldout_face_rate"]
        ax.axhline(heldout, color="tab:green", linestyle=":", label="held-out people")
        ax.set_ylim(0, 1)
    ax.set_xlabel("epoch")
    ax.set_ylabel(QUALITY_PANELS[metric])
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def comparison_figure(
    real: torch.Tensor, vae: VAE, gan: GAN, curves: dict[str, list[dict]], report: dict[str, Any], seed: int
) -> bytes:
    """Real training faces next to the same fixed codes through both models, both models'
    walks, and the SWD and face-detection curves (the face rate with its standard error per
    snapshot) against the baselines' mean and spread."""
    samples, walk = comparison_pictures(real, vae, gan, seed)
    figure = plt.figure(figsize=(15, 10))
    # 6 columns: three sample grids of 2 each, two walks of 3 each, two curves of 3 each;
    # heights follow the tiles.
    spec = figure.add_gridspec(3, 6, height_ratios=[2, 3, 3.5])
    for row, pictures in enumerate((samples, walk)):
        width = 6 // len(pictures)
        for i, (title, image) in enumerate(pictures.items()):
            ax = figure.add_subplot(spec[row, i * width : (i + 1) * width])
            ax.imshow(image, cmap="gray", vmin=0, vmax=255)
            ax.set_title(title)
            ax.axis("off")
    for column, metric in enumerate(QUALITY_PANELS):
        quality_panel(figure.add_subplot(spec[2, 3 * column : 3 * column + 3]), metric, curves, report)
    figure.tight_layout()
    return png(figure, 90)
