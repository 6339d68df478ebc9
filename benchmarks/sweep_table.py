"""The README's sweep table from `dvc exp show --json`: one row per experiment (and the
workspace), the settings that differ from the defaults, and the yardstick's numbers.

    dvc exp run --queue -n lab -S vae.decoder=fixed ...   # the rows (see the README)
    dvc queue start -j 1 && dvc queue status              # wait for Success
    python benchmarks/sweep_table.py                      # prints a markdown table

Settings are chosen on the validation faces (``val_*`` columns: held-out reconstruction
error and memorisation ratio); the test-face numbers are reported once, for the defaults.
"""

from __future__ import annotations

import json
import subprocess
import sys

COLUMNS = [  # (header, model, key, with its sd)
    ("VAE SWD", "vae", "swd", True),
    ("VAE c2st", "vae", "c2st", True),
    ("VAE prec. / recall", "vae", ("precision", "recall"), False),
    ("VAE val recon", "vae", "val_recon_loss", False),
    ("VAE val mem.", "vae", "val_memorisation_ratio", False),
    ("GAN SWD", "gan", "swd", True),
    ("GAN c2st", "gan", "c2st", True),
    ("GAN prec. / recall", "gan", ("precision", "recall"), False),
    ("GAN val mem.", "gan", "val_memorisation_ratio", False),
    ("GAN bright. / contrast", "gan", ("brightness", "contrast"), False),
]


def flatten(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= flatten(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def cell(metrics: dict, model: str, key: str | tuple[str, str], with_sd: bool) -> str:
    values = metrics.get(model, {})
    if isinstance(key, tuple):
        return " / ".join(f"{values[k]:.2f}" for k in key) if all(k in values for k in key) else "-"
    if key not in values:
        return "-"
    digits = 3 if abs(values[key]) < 10 else 1
    text = f"{values[key]:.{digits}f}"
    return f"{text} ± {values[f'{key}_sd']:.{digits}f}" if with_sd else text


def main() -> None:
    shown = json.loads(subprocess.run(
        [sys.executable, "-m", "dvc", "exp", "show", "--all-commits", "--json"], capture_output=True, text=True, check=True
    ).stdout)  # fmt: skip
    baseline = shown[0]["data"]
    defaults = flatten(baseline["params"]["params.yaml"]["data"])
    rows = [("defaults (workspace)", baseline)]
    for commit in shown:
        for experiment in commit.get("experiments") or []:
            rev = experiment["revs"][0]
            state = (experiment.get("executor") or {}).get("state", "success")
            finished = rev.get("data", {}).get("metrics", {}).get("metrics/evaluate.json", {})
            if state == "success" and "data" in finished:  # not queued, running or failed
                rows.append((rev["name"], rev["data"]))
    rows.sort(key=lambda row: row[0] != "lab")  # the lab's literal settings first, as the baseline
    print("| experiment | settings changed | " + " | ".join(c[0] for c in COLUMNS) + " |")
    print("|" + "---|" * (len(COLUMNS) + 2))
    for name, data in rows:
        params = flatten(data["params"]["params.yaml"]["data"])
        changed = ", ".join(f"{k}={v}" for k, v in params.items() if defaults.get(k) != v) or "-"
        metrics = data["metrics"]["metrics/evaluate.json"]["data"]
        cells = [cell(metrics, model, key, sd) for _, model, key, sd in COLUMNS]
        print(f"| {name} | {changed} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
