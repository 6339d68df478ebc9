"""Turning per-epoch training histories into metrics files and plot tables."""

from __future__ import annotations

import csv
import io
from typing import Any

History = list[dict[str, float]]

DIGITS = 5  # decimals kept in metrics files: enough to see a change, few enough to read

# Panels of the loss-curve figures: panel title -> history columns.
VAE_PANELS = {
    "loss (recon + kl_weight * KL)": ("train_loss", "val_loss"),
    "reconstruction: sum of squared errors": ("train_recon_loss", "val_recon_loss"),
    "KL divergence": ("train_kl_loss", "val_kl_loss"),
}
GAN_PANELS = {
    "losses": ("d_loss", "d_loss_real", "d_loss_fake", "g_loss"),
    "discriminator outputs": ("d_real", "d_fake"),
}


def history_csv(history: History) -> str:
    """One row per epoch, column ``epoch`` first."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(history[0]), lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: v if k == "epoch" else f"{v:.6g}" for k, v in row.items()})
    return buffer.getvalue()


def _rounded(row: dict[str, float], keys: list[str]) -> dict[str, float]:
    return {k: round(row[k], DIGITS) for k in keys}


def summarize_vae(history: History) -> dict[str, Any]:
    """Final train and validation loss terms, and the best validation loss with its epoch."""
    terms = ["loss", "recon_loss", "kl_loss"]
    final = history[-1]
    best = min(history, key=lambda row: row["val_loss"])
    return {
        "epochs": int(final["epoch"]),
        "train": {t: round(final[f"train_{t}"], DIGITS) for t in terms},
        "val": {t: round(final[f"val_{t}"], DIGITS) for t in terms},
        "best_val": {"epoch": int(best["epoch"])} | {t: round(best[f"val_{t}"], DIGITS) for t in terms},
    }


def summarize_gan(history: History) -> dict[str, Any]:
    """Final values and their means over the last quarter of training (GAN losses are
    noisy and do not fall as samples improve, so a single epoch says little)."""
    keys = ["d_loss", "d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake"]
    tail = history[-max(1, len(history) // 4) :]
    return {
        "epochs": int(history[-1]["epoch"]),
        "final": _rounded(history[-1], keys),
        "last_quarter_mean": {k: round(sum(r[k] for r in tail) / len(tail), DIGITS) for k in keys},
    }
