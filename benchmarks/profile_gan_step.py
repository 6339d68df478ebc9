"""Where the default GAN step spends its time, fp32 against bf16: torch.profiler's self CPU
time over an epoch of 20 steps of the stage's own epoch (``facegen.train.gan.gan_epoch``:
batch 16, the joint discriminator pass, channels_last, the weight average), grouped as in
docs/performance.md. ``--architecture dcgan``: the README's `dcgan` GAN instead (DiffAugment,
the reconstruction head every 2nd step).

    python -m benchmarks.profile_gan_step [--architecture dcgan]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.profiler import profile

from benchmarks.architectures import DCGAN_SETTINGS
from facegen.config import GANConfig, TrainConfig
from facegen.process import keep_freed_memory
from facegen.runtime import make_runtime
from facegen.train.average import weight_average
from facegen.train.gan import build_gan, gan_epoch
from facegen.train.schedules import lr_scheduler

STEPS = 20
GROUPS = {  # aten operator name fragments -> the README's rows
    "convolutions": ("convolution",),
    "batch norm": ("batch_norm",),
    "ReLU and its backward": ("clamp_min", "threshold_backward", "relu"),
    "average pooling and its backward": ("avg_pool2d",),
    "copies and fills": ("copy_", "fill_"),
}
CONFIGS = {  # 7 epochs of STEPS: the warm-up, five timed, the profiled
    "lab": GANConfig(epochs=7),
    "dcgan": GANConfig(
        epochs=7, **{k: v for k, v in DCGAN_SETTINGS["gan"].items() if k not in ("epochs", "snapshot_every")}
    ),
}


def profile_step(precision: str, config: GANConfig) -> tuple[float, dict[str, float]]:
    """(median seconds per step over 5 epochs, self CPU ms per group over one epoch of STEPS)."""
    torch.manual_seed(0)
    keep_freed_memory()  # as every stage does
    runtime = make_runtime("cpu", TrainConfig(precision=precision))
    gan = runtime.place(build_gan(config))
    optimizers = tuple(
        runtime.adam(m.parameters(), config.lr, config.betas) for m in (gan.generator, gan.discriminator)
    )
    schedulers = tuple(lr_scheduler(optimizer, config, STEPS) for optimizer in optimizers)
    average = weight_average(gan.generator, config.ema)
    faces = (torch.rand(STEPS * config.batch_size, 1, 64, 64) * 255).to(torch.uint8)
    rng = torch.Generator().manual_seed(0)

    def epoch() -> None:
        gan_epoch(gan, optimizers, schedulers, faces, config, rng, runtime, average)

    epoch()  # warm-up
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        epoch()
        timings.append((time.perf_counter() - started) / STEPS)
    with profile() as profiler:
        epoch()
    groups = dict.fromkeys([*GROUPS, "the rest"], 0.0)
    for event in profiler.key_averages():
        name = next((g for g, parts in GROUPS.items() if any(p in event.key for p in parts)), "the rest")
        groups[name] += event.self_cpu_time_total / 1000
    return sorted(timings)[2], groups


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--architecture", choices=sorted(CONFIGS), default="lab")
    config = CONFIGS[parser.parse_args().architecture]
    results = {precision: profile_step(precision, config) for precision in ("fp32", "bf16")}
    print(f"{'operations':36s} {'fp32 ms':>9s} {'bf16 ms':>9s}  speed-up")
    for group in [*GROUPS, "the rest"]:
        fp32, bf16 = results["fp32"][1][group], results["bf16"][1][group]
        print(f"{group:36s} {fp32:9.0f} {bf16:9.0f}  {fp32 / max(bf16, 1e-9):.2f}x")
    total = {p: sum(r[1].values()) for p, r in results.items()}
    print(f"{'total':36s} {total['fp32']:9.0f} {total['bf16']:9.0f}  {total['fp32'] / total['bf16']:.2f}x")
    step = {p: 1000 * r[0] for p, r in results.items()}
    print(f"per step (median of 5 timings): fp32 {step['fp32']:.0f} ms, bf16 {step['bf16']:.0f} ms")


if __name__ == "__main__":
    main()
