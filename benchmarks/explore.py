"""Exploration on a GPU: train many VAE and GAN variants side by side and measure how their
sample quality grows with training steps. Used to choose which settings to sweep with
`dvc exp run --queue` on the CPU (the README's sweep table); its numbers are indicative
(one seed each unless ``seeds`` says otherwise, a single SWD draw per snapshot).

    python benchmarks/explore.py --data data/prepared --out results --workers 12 [--only NAME ...]

Writes per variant a JSON of curves (SWD, brightness, contrast per snapshot, and for the
last snapshot SWD and the classifier two-sample test over 8 draws) and sample grids.
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
    # name: (model, overrides of its section, with "hflip" for train.hflip)
    "gan_lab": ("gan", {"discriminator_batch": "separate"}),
    "gan_joint": ("gan", {}),
    "gan_joint_flip": ("gan", {"hflip": True}),
    "gan_joint_flip_ema": ("gan", {"hflip": True, "ema": 0.999}),
    "gan_joint_flip_ema_da": ("gan", {"hflip": True, "ema": 0.999, "diffaugment": True}),
    "gan_joint_flip_ema_r1": ("gan", {"hflip": True, "ema": 0.999, "r1": 1.0}),
    "gan_joint_flip_ema_r1small": ("gan", {"hflip": True, "ema": 0.999, "r1": 0.1}),
    "gan_joint_flip_ema_da_r1": ("gan", {"hflip": True, "ema": 0.999, "diffaugment": True, "r1": 1.0}),
    "gan_joint_flip_ema_da_b32": ("gan", {"hflip": True, "ema": 0.999, "diffaugment": True, "batch_size": 32}),
    "gan_joint_flip_ema_da_rl1": ("gan", {"hflip": True, "ema": 0.999, "diffaugment": True, "real_label": 1.0}),
    "gan_joint_flip_ema_da_lr1e4": ("gan", {"hflip": True, "ema": 0.999, "diffaugment": True, "lr": 1e-4}),
    "vae_lab": ("vae", {}),
    "vae_cal": ("vae", {"decoder": "calibrated"}),
    "vae_cal_fit": ("vae", {"decoder": "calibrated", "prior": "fitted"}),
    "vae_cal_fit_warm": ("vae", {"decoder": "calibrated", "prior": "fitted", "kl_warmup": 10}),
    "vae_cal_fit_flip": ("vae", {"decoder": "calibrated", "prior": "fitted", "hflip": True}),
    "vae_kl02_fit": ("vae", {"kl_weight": 0.02, "prior": "fitted"}),
}


def run_variant(args: tuple[str, str, dict, int, int, int, str, str]) -> dict:
    name, kind, overrides, epochs, every, seed, data, out = args
    torch.set_num_threads(1)
    from facegen.config import GANConfig, TrainConfig, VAEConfig
    from facegen.data import load_prepared, to_float
    from facegen.quality import c2st_features, classifier_two_sample_test, sliced_wasserstein
    from facegen.render import fixed_latents, grid, png_bytes
    from facegen.train import train_gan, train_vae

    faces = load_prepared(data)
    pool = to_float(faces.train)
    n = len(pool) // 2
    overrides = dict(overrides)
    train = TrainConfig(hflip=overrides.pop("hflip", False))
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
            "seconds": time.perf_counter() - started,
        })  # fmt: skip
        if epoch % (every * 4) == 0 or epoch == epochs:
            (folder / f"samples_E{epoch:04d}.png").write_bytes(png_bytes(grid(sample(model, 64, 99), 8)))
        model.train()

    try:
        if kind == "vae":
            model, history = train_vae(faces.train, faces.val, config, snapshot, train)
        else:
            model, history = train_gan(faces.train, config, snapshot, train)
    except Exception:
        return {"name": name, "seed": seed, "error": traceback.format_exc()}
    # Last snapshot over 8 draws: SWD and the classifier two-sample test.
    final, pairs = [], []
    real_features = c2st_features(pool)
    for draw in range(8):
        order = torch.randperm(len(pool), generator=torch.Generator().manual_seed(draw))
        images = sample(model, n, draw)
        swd = sliced_wasserstein(images, pool[order[:n]], seed=draw, patches_per_image=64, repeats=1)
        final.append(sum(swd) / 3)
        pairs.append((real_features[order[:n]], c2st_features(images)))
    c2st = classifier_two_sample_test(pairs).flatten().tolist()
    result = {
        "name": name, "seed": seed, "kind": kind, "overrides": overrides, "hflip": train.hflip,
        "config": dataclasses.asdict(config), "curve": curve, "history_tail": history[-3:],
        "final_swd": statistics.mean(final), "final_swd_sd": statistics.stdev(final),
        "c2st": statistics.mean(c2st), "c2st_sd": statistics.stdev(c2st),
        "brightness": curve[-1]["brightness"], "contrast": curve[-1]["contrast"],
        "real_brightness": pool.mean().item(), "real_contrast": pool.std().item(),
        "seconds": time.perf_counter() - started,
    }  # fmt: skip
    (folder / "result.json").write_text(json.dumps(result, indent=1))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
                f"{result['name']:32s} s{result['seed']} swd {result['final_swd']:6.1f} ± {result['final_swd_sd']:5.1f}  "
                f"c2st {result['c2st']:.3f} ± {result['c2st_sd']:.3f}  bright {result['brightness']:.3f} "
                f"(real {result['real_brightness']:.3f})  contrast {result['contrast']:.3f} "
                f"(real {result['real_contrast']:.3f})  {result['seconds']:.0f}s",
                flush=True,
            )
    sys.exit(0)


if __name__ == "__main__":
    main()
