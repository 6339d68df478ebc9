"""The lab's models against the dcgan pair, side by side in one invocation: the whole default
pipeline from scratch twice, once as params.yaml has it (``lab``) and once with
``DCGAN_SETTINGS`` (the README's dcgan command; a test checks they agree), each in its own
temporary repository, stage by stage, the two alternating so that drift in the machine's
speed hits both alike. Prints the stage times, both runs' numbers, and draws real faces next
to both architectures' samples for the same codes.

    python -m benchmarks.architectures                     # about 30 minutes on 2 cores
    python -m benchmarks.architectures --figure docs/images/lab_vs_dcgan.png --keep /tmp/arch

Writes benchmarks/architectures.json (not in git).
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.stage_timer import exp_command, pipeline_table, time_pipeline

HERE = Path(__file__).resolve().parent
# The dcgan settings, chosen on the validation people and the training pool in the sixth to
# eleventh rounds of docs/choosing-defaults.md; everything else as params.yaml has it: the
# VAE trains for 100 epochs (a snapshot every 4) against a critic of its reconstructions at
# 0.75 (faithful reconstructions first: issue 33) and samples from a mixture of 32 Gaussians
# fitted to its codes; the GAN trains for 800 epochs (a snapshot every 32) with mirrored
# faces, DiffAugment and FastGAN's reconstruction head on its discriminator, at the lab's
# rate of 4e-4.
DCGAN_SETTINGS: dict[str, dict[str, Any]] = {
    "vae": {
        "architecture": "dcgan",
        "epochs": 100,
        "snapshot_every": 4,
        "prior": "mixture",
        "prior_components": 32,
        "adversarial": 0.75,
    },
    "gan": {
        "architecture": "dcgan",
        "epochs": 800,
        "snapshot_every": 32,
        "hflip": True,
        "diffaugment": True,
        "recon_head": 1.0,
    },
}
# Numbers of the evaluation report (plots/tables/report.json) side by side: (set, key) -> label.
COLUMNS = {
    ("real", "heldout_face_rate"): "held-out people: face rate",
    ("vae", "face_rate"): "VAE face rate",
    ("vae", "recon_loss"): "VAE test reconstruction",
    ("vae", "identity_ratio"): "VAE identity ratio",
    ("vae", "swd"): "VAE SWD",
    ("vae", "c2st"): "VAE c2st",
    ("gan", "face_rate"): "GAN face rate",
    ("gan", "identity_ratio"): "GAN identity ratio",
    ("gan", "memorisation_ratio"): "GAN memorisation ratio",
    ("gan", "swd"): "GAN SWD",
    ("gan", "c2st"): "GAN c2st",
    ("gan", "precision"): "GAN precision",
    ("gan", "recall"): "GAN recall",
}


def dcgan_command(name: str = "dcgan") -> str:
    """The `dvc exp run` command that trains the pipeline with both dcgan models."""
    return exp_command(name, DCGAN_SETTINGS)


def results_table(reports: dict[str, dict[str, Any]]) -> str:
    """Markdown: one line per number, mean ± sd where it has one, one column per run."""
    names = list(reports)
    lines = ["| | " + " | ".join(f"`{n}`" for n in names) + " |", "|---" * (len(names) + 1) + "|"]
    for (section, key), label in COLUMNS.items():
        cells = []
        for name in names:
            report = reports[name]
            row = report["real"] if section == "real" else report["sets"][section]
            sd = row.get(f"{key}_sd")
            cells.append(f"{row[key]:.3g}" + (f" ± {sd:.2g}" if sd is not None else ""))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def figure(repos: dict[str, Path], samples: int = 16, seed: int = 0) -> bytes:
    """Real training faces of different people, then each run's VAE and GAN samples for the same fixed codes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from facegen.io import grid, load_prepared, to_float
    from facegen.models import fixed_codes, load_checkpoint

    first = next(iter(repos.values()))
    train = load_prepared(first / "data" / "prepared").train
    # spread over the training faces, which keep the file's order: on ORL (10 faces a person)
    # every 20th face, 16 different people, where the first 16 would be two
    spread = torch.linspace(0, len(train) - 1, samples).round().long()
    pictures = {"real training faces": grid(to_float(train[spread]), 8)}
    with torch.no_grad():
        for kind in ("vae", "gan"):
            for name, repo in repos.items():
                model = load_checkpoint(repo / "models" / kind / "checkpoint.pt")
                z = fixed_codes(samples, model.latent_dim, seed)
                pictures[f"{kind.upper()}, {name}: generate(z), the same z"] = grid(
                    model.generate(z).clamp(0, 1), 8
                )
    fig, axes = plt.subplots(len(pictures), 1, figsize=(8, 2.3 * len(pictures)))
    for ax, (title, image) in zip(axes, pictures.items(), strict=True):
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--figure", type=Path, help="write the comparison PNG here")
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=HERE / "architectures.json")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="facegen-arch-"))
    variants = {"lab": {}, "dcgan": DCGAN_SETTINGS}
    rows = time_pipeline(variants, folder)
    repos = {name: folder / name for name in variants}
    reports = {
        name: json.loads((repo / "plots/tables/report.json").read_text()) for name, repo in repos.items()
    }
    args.out.write_text(json.dumps({"stages": rows, "reports": reports}, indent=2) + "\n")
    print(pipeline_table(rows))
    print(results_table(reports))
    if args.figure:
        args.figure.parent.mkdir(parents=True, exist_ok=True)
        args.figure.write_bytes(figure(repos))
        print(f"wrote {args.figure}")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
