"""What ``evaluate`` reports, in two sizes:

- the **headline** (``metrics/evaluate.json``): what a decision rests on, for each model and
  both baselines on the same keys, each the mean over draws with its standard deviation
  beside it (``<key>_sd``): sample quality (``swd``), likeness to faces (``face_rate``), the
  memorisation check (``memorisation_ratio``; not for the real floor, whose faces are
  training faces) and the VAE's held-out reconstruction error (``recon_loss``);
- the **report** (``plots/tables/report.json``): every metric of every set with its spread,
  the real faces' own numbers, and the settings.
"""

from __future__ import annotations

import statistics
from typing import Any

Row = dict[str, float]  # one set's numbers, by name
DIGITS = 4  # decimals kept: enough to see a change, few enough to read
HEADLINE = {
    "vae": ("swd", "face_rate", "memorisation_ratio", "recon_loss"),
    "gan": ("swd", "face_rate", "memorisation_ratio"),
    "real_vs_real": ("swd", "face_rate"),
    "pca_gaussian": ("swd", "face_rate", "memorisation_ratio"),
}


def rounded(row: dict[str, Any], digits: int = DIGITS) -> dict[str, Any]:
    """``row`` with its float values rounded to ``digits`` decimals (ints and text kept)."""
    return {k: round(v, digits) if isinstance(v, float) else v for k, v in row.items()}


def summarise(rows: list[Row]) -> Row:
    """The mean of every key over draws, with its standard deviation as ``<key>_sd``."""
    summary = {}
    for key in rows[0]:
        values = [row[key] for row in rows]
        summary[key] = statistics.fmean(values)
        summary[f"{key}_sd"] = statistics.stdev(values)
    return rounded(summary)


def headline(summaries: dict[str, Row]) -> dict[str, Row]:
    """The headline keys of each set's summary, each with its ``_sd``."""
    return {
        name: {k: summaries[name][k] for key in keys for k in (key, f"{key}_sd")}
        for name, keys in HEADLINE.items()
    }


def draw_table(draws: dict[str, list[Row]]) -> list[dict[str, Any]]:
    """One row per set and draw, every metric a column (blank where a set has none)."""
    return [
        {"set": name, "draw": i} | rounded(row) for name, rows in draws.items() for i, row in enumerate(rows)
    ]
