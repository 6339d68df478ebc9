"""Exploration: train many VAE and GAN variants side by side (on a GPU, or on the CPU with
``--workers 2``) and measure how their sample quality grows with training steps. Used to choose which settings to sweep with
`dvc exp run --queue` on the CPU (the README's sweep table); its numbers are indicative
(one seed each unless ``seeds`` says otherwise, a single SWD draw per snapshot).

    python benchmarks/explore.py --data data/prepared --out results --workers 12 [--only NAME ...]

Writes per variant a JSON of curves (SWD, brightness, contrast and the face detector's rate
per snapshot, and for the last snapshot SWD, the classifier two-sample test, precision and
recall over 8 draws, the face detector's rate over 4 and the identity ratio against the
validation people over 4) and sample grids. Nothing here looks at the test people.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import statistics
import sys
import time
import traceback
from pathlib import Path

import torch

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
}


def face_scores(images: torch.Tensor, val_reference: tuple, identity: int = 64) -> dict[str, float]:
    """The face detector's rate over ``images``, and the identity ratio of their first
    ``identity`` against the validation people (``val_reference``: the training faces'
    embeddings, the validation people's median distance to them), in this process."""
    import numpy as np

    from facegen.faces import detected, embeddings, nearest_identity_distance, to_detector_images

    prepared = to_detector_images(images)
    reference, heldout = val_reference
    distance = np.median(nearest_identity_distance(embeddings(prepared[:identity]), reference))
    return {"face_rate": float(detected(prepared).mean()), "val_identity_ratio": float(distance / heldout)}


def run_variant(args: tuple[str, str, dict, int, int, int, str, str]) -> dict:
    name, kind, overrides, epochs, every, seed, data, out = args
    torch.set_num_threads(1)
    import numpy as np

    from facegen.config import EvaluateConfig, GANConfig, TrainConfig, VAEConfig
    from facegen.data import load_prepared, to_float
    from facegen.faces import detected, embeddings, nearest_identity_distance, to_detector_images
    from facegen.quality import (
        PCA,
        c2st_features,
        classifier_two_sample_test,
        precision_recall,
        sliced_wasserstein,
    )
    from facegen.render import fixed_latents, grid, png_bytes
    from facegen.train.gan import train_gan
    from facegen.train.vae import train_vae

    faces = load_prepared(data)
    pool = to_float(faces.train)
    reference = embeddings(to_detector_images(faces.train))
    val_reference = (
        reference,
        np.median(nearest_identity_distance(embeddings(to_detector_images(faces.val)), reference)),
    )
    n = len(pool) // 2
    overrides = dict(overrides)
    train = TrainConfig()
    section = VAEConfig if kind == "vae" else GANConfig
    config = section(epochs=epochs, snapshot_every=every, seed=seed, **overrides)
    curve, started = [], time.perf_counter()
    folder = Path(out) / f"{name}_s{seed}"
    folder.mkdir(parents=True, exist_ok=True)

    @torch.no_grad()
    def sample(model, count: int, draw: int) -> torch.Tensor:
        model = model.eval()
        device = next(model.parameters()).device
        z = fixed_latents(count, model.latent_dim, 1000 + draw).to(device)
        return model.generate(z).float().clamp(0, 1).cpu()

    def snapshot(epoch: int, model) -> None:
        images = sample(model, n, 0)
        half = pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(0))[:n]]
        swd = sliced_wasserstein(images, half, seed=0, patches_per_image=64, repeats=1)
        curve.append({
            "epoch": epoch, "swd": sum(swd) / 3, "swd_levels": swd,
            "brightness": images.mean().item(), "contrast": images.std().item(),
            "face_rate": float(detected(to_detector_images(images[:64])).mean()),
            "seconds": time.perf_counter() - started,
        })  # fmt: skip
        if epoch == epochs:
            (folder / f"samples_E{epoch:04d}.png").write_bytes(png_bytes(grid(sample(model, 64, 99), 8)))
        model.train()

    try:
        if kind == "vae":
            model, history = train_vae(faces.train, faces.val, config, snapshot, train)
        else:
            model, history = train_gan(faces.train, config, snapshot, train)
    except Exception:
        return {"name": name, "seed": seed, "error": traceback.format_exc()}
    # Last snapshot over 8 draws: SWD, the classifier two-sample test, precision and recall
    # (in evaluate's PCA space and with its k).
    final, pairs, scores, likeness = [], [], [], []
    real_features = c2st_features(pool)
    judging = EvaluateConfig()
    pca = PCA.fit(pool, judging.pca_dims)
    for draw in range(8):
        half = torch.randperm(len(pool), generator=torch.Generator().manual_seed(draw))[:n]
        images = sample(model, n, draw)
        swd = sliced_wasserstein(images, pool[half], seed=draw, patches_per_image=64, repeats=1)
        final.append(sum(swd) / 3)
        scores.append(precision_recall(pca.project(pool[half]), pca.project(images), k=judging.k))
        pairs.append((real_features[half], c2st_features(images)))
        if draw < 4:  # the face detector on 4 x n faces, the identity on 4 x 64
            likeness.append(face_scores(images, val_reference))
    c2st = classifier_two_sample_test(pairs).flatten().tolist()
    rates = [row["face_rate"] for row in likeness]
    identity = [row["val_identity_ratio"] for row in likeness]
    result = {
        "name": name, "seed": seed, "kind": kind, "overrides": overrides,
        "config": dataclasses.asdict(config), "curve": curve, "history": history,
        "final_swd": statistics.mean(final), "final_swd_sd": statistics.stdev(final),
        "c2st": statistics.mean(c2st), "c2st_sd": statistics.stdev(c2st),
        "precision": statistics.mean(p for p, _ in scores), "recall": statistics.mean(r for _, r in scores),
        "brightness": curve[-1]["brightness"], "contrast": curve[-1]["contrast"],
        "real_brightness": pool.mean().item(), "real_contrast": pool.std().item(),
        "face_rate": statistics.mean(rates), "face_rate_sd": statistics.stdev(rates),
        "val_identity_ratio": statistics.mean(identity), "val_identity_ratio_sd": statistics.stdev(identity),
        "seconds": time.perf_counter() - started,
    }  # fmt: skip
    (folder / "result.json").write_text(json.dumps(result, indent=1))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default="data/prepared")
    parser.add_argument("--out", default="explore")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--gan-epochs", type=int, default=400)
    parser.add_argument("--vae-epochs", type=int, default=100)
    parser.add_argument("--every", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", nargs="*", help="variant names (default: all)")
    args = parser.parse_args()
    jobs = []
    for name, (kind, overrides) in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        epochs = args.vae_epochs if kind == "vae" else args.gan_epochs
        every = args.every if kind == "gan" else max(1, args.every // 4)
        jobs += [(name, kind, overrides, epochs, every, seed, args.data, args.out) for seed in args.seeds]
    context = multiprocessing.get_context("spawn")
    with context.Pool(args.workers) as pool:
        for result in pool.imap_unordered(run_variant, jobs):
            if "error" in result:
                print(result["name"], "FAILED", result["error"], flush=True)
                continue
            print(
                f"{result['name']:32s} s{result['seed']} faces {result['face_rate']:.3f} ± {result['face_rate_sd']:.3f}  "
                f"val identity {result['val_identity_ratio']:.2f}  swd {result['final_swd']:6.1f} ± {result['final_swd_sd']:5.1f}  "
                f"c2st {result['c2st']:.3f} ± {result['c2st_sd']:.3f}  P/R {result['precision']:.2f}/{result['recall']:.2f}  bright {result['brightness']:.3f} "
                f"(real {result['real_brightness']:.3f})  contrast {result['contrast']:.3f} "
                f"(real {result['real_contrast']:.3f})  {result['seconds']:.0f}s"
                + (
                    f"  val recon {result['history'][-1]['val_recon_loss']:.2f}"
                    if result["kind"] == "vae"
                    else ""
                ),
                flush=True,
            )
    sys.exit(0)


if __name__ == "__main__":
    main()
