"""Metrics from per-epoch training histories: what ``metrics/vae.json`` and
``metrics/gan.json`` hold, and the rounding every metrics file uses."""

from __future__ import annotations

from typing import Any

from facegen import History

DIGITS = 5  # decimals kept in metrics files: enough to see a change, few enough to read


def rounded(row: dict[str, Any], digits: int = DIGITS) -> dict[str, Any]:
    """``row`` with its float values rounded to ``digits`` decimals (ints and text kept)."""
    return {k: round(v, digits) if isinstance(v, float) else v for k, v in row.items()}


def summarize_vae(history: History) -> dict[str, Any]:
    """Final train and validation loss terms, and the best validation loss with its epoch."""
    terms = ["loss", "recon_loss", "kl_loss"]
    final = history[-1]
    best = min(history, key=lambda row: row["val_loss"])
    return {
        "epochs": int(final["epoch"]),
        "train": rounded({t: final[f"train_{t}"] for t in terms}),
        "val": rounded({t: final[f"val_{t}"] for t in terms}),
        "best_val": {"epoch": int(best["epoch"])} | rounded({t: best[f"val_{t}"] for t in terms}),
    }


def summarize_gan(history: History) -> dict[str, Any]:
    """Final values and their means over the last quarter of training (GAN losses are
    noisy and do not fall as samples improve, so a single epoch says little)."""
    keys = ["d_loss", "d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake"]
    tail = history[-max(1, len(history) // 4) :]
    return {
        "epochs": int(history[-1]["epoch"]),
        "final": rounded({k: history[-1][k] for k in keys}),
        "last_quarter_mean": rounded({k: sum(r[k] for r in tail) / len(tail) for k in keys}),
    }
