"""Where a trained VAE's samples come from, measured: the Gaussian fitted to the training
faces' codes (``vae.prior: fitted``) against Gaussian mixtures fitted to the same codes by
EM, on one VAE per seed trained as the stage trains it. Scored on the training pool (SWD,
the face detector's rate) and the validation people (identity ratio, reconstruction);
nothing looks at the test people.

    python benchmarks/vae_priors.py --architecture dcgan --seeds 0 1
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch

from facegen.config import VAEConfig
from facegen.data import load_prepared, to_float
from facegen.faces import detected, embeddings, nearest_identity_distance, to_detector_images
from facegen.quality import sliced_wasserstein
from facegen.runtime import CPU
from facegen.train.vae import posterior_means, train_vae


def fit_mixture(codes: torch.Tensor, components: int, seed: int, iterations: int = 200) -> tuple:
    """A Gaussian mixture with diagonal covariances fitted to ``codes`` (N, D) by EM, started
    from a seeded k-means++ choice of means: (weights (K,), means (K, D), stds (K, D))."""
    x = codes.double()
    n, _ = x.shape
    generator = torch.Generator().manual_seed(seed)
    means = [x[torch.randint(n, (1,), generator=generator)].squeeze(0)]
    for _ in range(components - 1):
        nearest = torch.cdist(x, torch.stack(means)).min(1).values ** 2
        means.append(x[torch.multinomial(nearest / nearest.sum(), 1, generator=generator)].squeeze(0))
    means = torch.stack(means)
    variances = x.var(0).expand(components, -1).clone()
    weights = torch.full((components,), 1 / components, dtype=torch.float64)
    floor = 1e-3 * x.var(0).mean()
    for _ in range(iterations):
        log_p = -0.5 * (((x[:, None] - means) ** 2) / variances + variances.log()).sum(2) + weights.log()
        resp = torch.softmax(log_p, dim=1)  # (N, K)
        total = resp.sum(0) + 1e-12
        weights = total / n
        means = (resp.T @ x) / total[:, None]
        variances = (resp.T @ x**2) / total[:, None] - means**2
        variances = variances.clamp_min(floor)
    return weights, means, variances.sqrt()


def mixture_samples(mixture: tuple, count: int, seed: int) -> torch.Tensor:
    weights, means, stds = mixture
    generator = torch.Generator().manual_seed(seed)
    k = torch.multinomial(weights, count, replacement=True, generator=generator)
    z = torch.randn(count, means.shape[1], generator=generator, dtype=torch.float64)
    return (means[k] + stds[k] * z).float()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default="data/prepared")
    parser.add_argument("--architecture", default="dcgan")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--components", type=int, nargs="+", default=[4, 10, 32])
    args = parser.parse_args()
    faces = load_prepared(args.data)
    pool = to_float(faces.train)
    n = len(pool) // 2
    reference = embeddings(to_detector_images(faces.train))
    heldout = np.median(nearest_identity_distance(embeddings(to_detector_images(faces.val)), reference))
    results: dict[str, list[dict]] = {}
    for seed in args.seeds:
        config = VAEConfig(architecture=args.architecture, seed=seed)
        model, history = train_vae(faces.train, faces.val, config, lambda e, m: None)
        model = CPU.place(model.eval())
        codes = posterior_means(model, faces.train, CPU)
        priors = {"fitted Gaussian": None} | {
            f"mixture K={k}": fit_mixture(codes, k, seed) for k in args.components
        }
        for name, mixture in priors.items():
            rates, swds, identities = [], [], []
            for draw in range(4):
                with torch.no_grad():
                    if mixture is None:
                        z = torch.randn(
                            n, model.latent_dim, generator=torch.Generator().manual_seed(100 + draw)
                        )
                        images = model.generate(z).clamp(0, 1)
                    else:
                        images = model.decoder(mixture_samples(mixture, n, 100 + draw)).clamp(0, 1)
                half = torch.randperm(len(pool), generator=torch.Generator().manual_seed(draw))[:n]
                swds.append(
                    sum(sliced_wasserstein(images, pool[half], seed=draw, patches_per_image=64, repeats=1))
                    / 3
                )
                prepared = to_detector_images(images)
                rates.append(float(detected(prepared).mean()))
                distance = np.median(nearest_identity_distance(embeddings(prepared[:32]), reference))
                identities.append(float(distance / heldout))
            row = {"face_rate": statistics.mean(rates), "face_rate_sd": statistics.stdev(rates),
                   "swd": statistics.mean(swds), "val_identity_ratio": statistics.mean(identities),
                   "val_recon_loss": history[-1]["val_recon_loss"]}  # fmt: skip
            results.setdefault(name, []).append(row)
            print(
                f"seed {seed} {name:16s} faces {row['face_rate']:.3f} ± {row['face_rate_sd']:.3f}  "
                f"swd {row['swd']:6.1f}  val identity {row['val_identity_ratio']:.2f}  "
                f"val recon {row['val_recon_loss']:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
