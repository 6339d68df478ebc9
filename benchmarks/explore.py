"""Exploration: train many VAE and GAN variants side by side (on a GPU, or on the CPU with
``--workers 2``) and measure how their sample quality grows with training steps, scored by
``evaluate``'s own code on the validation people. Used to choose which settings to sweep
with `dvc exp run --queue`; one seed each unless ``--seeds`` says otherwise.

    dvc repro real_faces   # the prepared faces and the real faces' record it scores against
    python -m benchmarks.explore --workers 2 [--only NAME ...] [--seeds 0 1 2]

Writes per variant its snapshots, a sample grid and a JSON of its training history, its
per-snapshot scores (one draw) and its last snapshot's scores over ``--draws`` draws (mean
and sd of every metric evaluate reports). Nothing here looks at the test people.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import torch

from facegen.io import grid, png_bytes

R7_DCGAN = {"architecture": "dcgan", "hflip": True, "diffaugment": True}  # the sixth round's dcgan GAN
R7_ALL = {
    "spectral_norm": True,
    "loss": "hinge",
    "r1": 0.05,
    "lecam": 0.3,
    "diffaugment_color": True,
    "recon_head": 1.0,
}
R8_DCGAN_VAE = {"architecture": "dcgan", "prior": "mixture", "prior_components": 32}  # the README's
VARIANTS: dict[str, tuple[str, dict]] = {
    # name: (model, overrides of its section). Second round, at
    # the CPU budget (GAN 120 epochs, VAE 60 or 100), around the first round's best.
    "gan_default": ("gan", {"ema": 0.999, "hflip": True}),
    "gan_noflip": ("gan", {"ema": 0.999}),
    "gan_noema": ("gan", {"hflip": True}),
    "gan_rl1": ("gan", {"ema": 0.999, "hflip": True, "real_label": 1.0}),
    "gan_lr1e4": ("gan", {"ema": 0.999, "hflip": True, "lr": 1e-4}),
    "gan_da": ("gan", {"ema": 0.999, "hflip": True, "diffaugment": True}),
    "gan_r1": ("gan", {"ema": 0.999, "hflip": True, "r1": 0.1}),
    "gan_beta0": ("gan", {"ema": 0.999, "hflip": True, "betas": (0.0, 0.99)}),
    "vae_cal": ("vae", {"decoder": "calibrated", "prior": "fitted", "hflip": True}),
    "vae_cal_kl2": ("vae", {"decoder": "calibrated", "prior": "fitted", "hflip": True, "kl_weight": 2.0}),
    "vae_cal_kl4": ("vae", {"decoder": "calibrated", "prior": "fitted", "hflip": True, "kl_weight": 4.0}),
    "vae_kl005": ("vae", {"kl_weight": 0.05, "prior": "fitted", "hflip": True}),
    "vae_kl01": ("vae", {"kl_weight": 0.1, "prior": "fitted", "hflip": True}),
    "vae_kl02": ("vae", {"kl_weight": 0.2, "prior": "fitted", "hflip": True}),
    "vae_kl05": ("vae", {"kl_weight": 0.5, "prior": "fitted", "hflip": True}),
    "vae_kl1": ("vae", {"prior": "fitted", "hflip": True}),
    # Third round: instance noise on what D sees, against the chosen defaults (120 epochs).
    "gan_r3_defaults": ("gan", {}),
    "gan_noise05": ("gan", {"instance_noise": 0.05}),
    "gan_noise10": ("gan", {"instance_noise": 0.1}),
    "gan_noise20": ("gan", {"instance_noise": 0.2}),
    # More generator steps for the same images: smaller batches, Adam without momentum.
    "gan_bs8": ("gan", {"batch_size": 8}),
    "gan_bs8_lr1e4": ("gan", {"batch_size": 8, "lr": 1e-4}),
    "gan_r3_beta0": ("gan", {"betas": (0.0, 0.99)}),
    # Fourth round, on the 2-core CPU (--workers 2): learning rates. Every setting spelled
    # out, so the round reproduces whatever the defaults have become since.
    "vae_r4_constant": ("vae", {"lr_schedule": "constant", "lr": 1e-3, "shift": 0}),
    "vae_cosine": ("vae", {"lr_schedule": "cosine", "lr": 1e-3, "shift": 0}),
    "vae_cosine_lr2e3": ("vae", {"lr_schedule": "cosine", "lr": 2e-3, "shift": 0}),
    "vae_cosine_kl05": ("vae", {"lr_schedule": "cosine", "lr": 1e-3, "kl_weight": 0.5, "shift": 0}),
    "vae_cosine_kl075": ("vae", {"lr_schedule": "cosine", "lr": 1e-3, "kl_weight": 0.75, "shift": 0}),
    "gan_r4_lr2e4": ("gan", {"lr_schedule": "constant", "lr": 2e-4}),
    "gan_cosine": ("gan", {"lr_schedule": "cosine", "lr": 2e-4}),
    "gan_lr4e4": ("gan", {"lr_schedule": "constant", "lr": 4e-4}),
    "gan_lr8e4": ("gan", {"lr_schedule": "constant", "lr": 8e-4}),
    "gan_lr4e4_beta2": ("gan", {"lr_schedule": "constant", "lr": 4e-4, "betas": (0.5, 0.99)}),
    "gan_lr4e4_ema9995": ("gan", {"lr_schedule": "constant", "lr": 4e-4, "ema": 0.9995}),
    "gan_lr4e4_ema99": ("gan", {"lr_schedule": "constant", "lr": 4e-4, "ema": 0.99}),
    # Fifth round (CPU): moving the VAE's training faces by a few pixels (vae.shift), against
    # vae_cosine (the same settings without it); a batch of 8.
    "vae_shift1": ("vae", {"lr_schedule": "cosine", "lr": 1e-3, "shift": 1}),
    "vae_shift2": ("vae", {"lr_schedule": "cosine", "lr": 1e-3, "shift": 2}),
    "vae_r5_bs8": ("vae", {"lr_schedule": "cosine", "lr": 1e-3, "shift": 0, "batch_size": 8}),
    # Sixth round (CPU): the dcgan architecture, scored also by the face detector; the lab's
    # defaults beside it as the baseline.
    "gan_r6_lab": ("gan", {}),
    "gan_dcgan_lr2e4": ("gan", {"architecture": "dcgan", "lr": 2e-4}),
    "gan_dcgan_lr4e4": ("gan", {"architecture": "dcgan", "lr": 4e-4}),
    "gan_dcgan_lr1e4": ("gan", {"architecture": "dcgan", "lr": 1e-4}),
    "gan_dcgan_flip": ("gan", {"architecture": "dcgan", "lr": 2e-4, "hflip": True}),
    "gan_dcgan_noema": ("gan", {"architecture": "dcgan", "lr": 2e-4, "ema": 0.0}),
    "gan_dcgan_da": ("gan", {"architecture": "dcgan", "lr": 2e-4, "diffaugment": True}),
    "gan_dcgan_bs32": ("gan", {"architecture": "dcgan", "lr": 2e-4, "batch_size": 32}),
    "gan_dcgan_rl1": ("gan", {"architecture": "dcgan", "lr": 2e-4, "real_label": 1.0}),
    "gan_dcgan_flip_da": ("gan", {"architecture": "dcgan", "lr": 2e-4, "hflip": True, "diffaugment": True}),
    "gan_dcgan_flip_lr1e4": ("gan", {"architecture": "dcgan", "lr": 1e-4, "hflip": True}),
    "gan_dcgan_flip_r1": ("gan", {"architecture": "dcgan", "lr": 2e-4, "hflip": True, "r1": 0.1}),
    "gan_dcgan_flip_noise": (
        "gan",
        {"architecture": "dcgan", "lr": 2e-4, "hflip": True, "instance_noise": 0.1},
    ),
    "vae_r6_lab": ("vae", {}),
    "vae_dcgan": ("vae", {"architecture": "dcgan"}),
    "vae_dcgan_noshift": ("vae", {"architecture": "dcgan", "shift": 0}),
    "vae_dcgan_lr5e4": ("vae", {"architecture": "dcgan", "lr": 5e-4}),
    "vae_dcgan_mix32": ("vae", {"architecture": "dcgan", "prior": "mixture", "prior_components": 32}),
    "vae_dcgan_mix32_lr2e3": (
        "vae",
        {"architecture": "dcgan", "prior": "mixture", "prior_components": 32, "lr": 2e-3},
    ),
    "vae_dcgan_mix32_lr5e4": (
        "vae",
        {"architecture": "dcgan", "prior": "mixture", "prior_components": 32, "lr": 5e-4},
    ),
    "gan_dcgan_flip_da_lr4e4": (
        "gan",
        {"architecture": "dcgan", "lr": 4e-4, "hflip": True, "diffaugment": True},
    ),
    # Seventh round (CPU, issue 24): the dcgan GAN trained as the few-shot anchors train
    # theirs, against the sixth round's dcgan settings (r7_base): a discriminator with spectral
    # norm and no batch norm, hinge or non-saturating loss, then R1, LeCam, colour DiffAugment
    # and FastGAN's reconstruction head together; then each added alone to r7_base. The head
    # was also run for 400 epochs (--gan-epochs 400 --every 80, seeds 0 and 1).
    **{
        f"gan_r7_{name}": ("gan", R7_DCGAN | overrides)
        for name, overrides in {
            "base": {},
            "sn": {"spectral_norm": True},
            "sn_hinge": {"spectral_norm": True, "loss": "hinge"},
            "all": R7_ALL,
            # the batch-norm discriminator of r7_base with one addition each (the spectral
            # one could not tell faces apart: see docs/choosing-defaults.md)
            "hinge": {"loss": "hinge"},
            "lecam": {"lecam": 0.3},
            "color": {"diffaugment_color": True},
            "head": {"recon_head": 1.0},
        }.items()
    },
    # Eighth round (CPU, issue 24): the dcgan VAE against a critic of its reconstructions
    # (vae.adversarial: VAE-GAN), against the README's dcgan VAE (r8_base), 100 epochs.
    **{
        f"vae_r8_{name}": ("vae", R8_DCGAN_VAE | overrides)
        for name, overrides in {
            "base": {},
            "adv01": {"adversarial": 0.1},
            "adv03": {"adversarial": 0.3},
            "adv05": {"adversarial": 0.5},
            "adv1": {"adversarial": 1.0},
            "adv2": {"adversarial": 2.0},
            # then with one forward pass for both players (vae_critic.py as it is now); a critic
            # of pairs, each face beside the input's 16 x 16 average, was tried and left out
            # (docs/choosing-defaults.md, eighth round)
            "faces2": {"adversarial": 2.0},
            "faces3": {"adversarial": 3.0},  # ninth round: a heavier weight
            # tenth round: more of the face in the code, against the critic's reconstruction
            # cost (a feature-matching term on the critic's features, Larsen et al.'s, was
            # tried with a switch and left out: docs/choosing-defaults.md, tenth round)
            "adv2_kl05": {"adversarial": 2.0, "kl_weight": 0.5},
            "adv2_z128": {"adversarial": 2.0, "latent_dim": 128},
        }.items()
    },
    # Ninth round (CPU, issue 24): are the dcgan GAN's strokes ghosts of its weight average?
    # The README's dcgan GAN (r7_head, 400 epochs) with a shorter average, and without one.
    **{
        f"gan_r9_{name}": ("gan", R7_DCGAN | {"recon_head": 1.0} | overrides)
        for name, overrides in {
            "ema099": {"ema": 0.99},
            "noema": {"ema": 0.0},
            # tenth round: a learning rate falling to 0 (patch logits on D's 8 x 8 features and
            # truncated codes were tried too, and left out: docs/choosing-defaults.md)
            "cosine": {"lr_schedule": "cosine"},
            "lr8e4": {"lr": 8e-4},  # and twice the rate: the 800 epochs' gain in 400?
        }.items()
    },
}


def run_variant(args: tuple[str, str, dict, int, int, int, int, str, str, str]) -> dict:
    """Train one variant as the training stage does (snapshots on disk, float16 weights) and
    score it as ``evaluate`` does, with its code: every snapshot once, the last over
    ``draws`` draws. The test people are replaced by the validation people, so nothing here
    looks at them (every ``memorisation_ratio`` and ``identity_ratio`` is the validation one)."""
    name, kind, overrides, epochs, every, seed, draws, data, real_faces, out = args
    torch.set_num_threads(1)
    from facegen.config import EvaluateConfig, GANConfig, VAEConfig
    from facegen.io import Faces, load_prepared, load_torch, write_bytes
    from facegen.judge import FaceJudges, Likeness, Reference
    from facegen.judge.evaluate import Contender, model_sampler, score_draws, score_snapshots
    from facegen.judge.report import summarise
    from facegen.models import ModelDir
    from facegen.train.gan import train_gan
    from facegen.train.vae import train_vae

    faces = load_prepared(data)
    validation = Faces(faces.train, faces.val, faces.val)
    config = (VAEConfig if kind == "vae" else GANConfig)(
        epochs=epochs, snapshot_every=every, seed=seed, **overrides
    )
    folder = ModelDir(Path(out) / f"{name}_s{seed}")
    started = time.perf_counter()
    try:
        snapshot = folder.snapshot_writer(kind, config)
        if kind == "vae":
            model, history = train_vae(faces.train, faces.val, config, snapshot)
        else:
            model, history = train_gan(faces.train, config, snapshot)
    except Exception:
        return {"name": name, "seed": seed, "error": traceback.format_exc()}
    trained = time.perf_counter() - started
    reference = Reference(validation, EvaluateConfig(draws=draws))
    with FaceJudges(workers=1) as judges:
        likeness = Likeness(load_torch(real_faces), judges)
        curve = score_snapshots(folder, kind, reference, likeness)
        rows = score_draws(reference, {kind: Contender(model_sampler(model.cpu().eval(), 0))}, likeness)[kind]
        verdicts = likeness.verdicts()
    curve = [row | verdicts["snapshot", kind, row["epoch"]] for row in curve]
    rows = [row | verdicts["draw", kind, draw] for draw, row in enumerate(rows)]
    write_bytes(folder.path / "samples.png", png_bytes(grid(model_sampler(model, 99)(64, 0), 8)))
    result = {
        "name": name, "seed": seed, "kind": kind, "overrides": overrides, "config": dataclasses.asdict(config),
        "history": history, "curve": curve, "final": summarise(rows),
        "train_seconds": trained, "seconds": time.perf_counter() - started,
    }  # fmt: skip
    (folder.path / "result.json").write_text(json.dumps(result, indent=1))
    return result


def summary_line(result: dict) -> str:
    final = result["final"]
    line = f"{result['name']:32s} s{result['seed']}"
    for key in (
        "face_rate",
        "val_identity_ratio",
        "swd",
        "c2st",
        "precision",
        "recall",
        "brightness",
        "contrast",
    ):
        line += f"  {key} {final[key]:.3g} ± {final[key + '_sd']:.2g}"
    if result["kind"] == "vae":
        line += f"  val recon {result['history'][-1]['val_recon_loss']:.2f}"
    return line + f"  {result['seconds']:.0f}s"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default="data/prepared")
    parser.add_argument("--real-faces", default="data/real_faces.pt", help="the real_faces stage's record")
    parser.add_argument("--out", default="explore")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--gan-epochs", type=int, default=400)
    parser.add_argument("--vae-epochs", type=int, default=100)
    parser.add_argument("--every", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--draws", type=int, default=8, help="draws of the last snapshot's scores")
    parser.add_argument("--only", nargs="*", help="variant names (default: all)")
    args = parser.parse_args()
    jobs = []
    for name, (kind, overrides) in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        epochs = args.vae_epochs if kind == "vae" else args.gan_epochs
        every = args.every if kind == "gan" else max(1, args.every // 4)
        jobs += [
            (name, kind, overrides, epochs, every, seed, args.draws, args.data, args.real_faces, args.out)
            for seed in args.seeds
        ]
    # Not multiprocessing.Pool: its daemonic workers could not start the face judges' own.
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for result in (
            future.result() for future in as_completed(pool.submit(run_variant, job) for job in jobs)
        ):
            if "error" in result:
                print(result["name"], "FAILED", result["error"], flush=True)
                continue
            print(summary_line(result), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
