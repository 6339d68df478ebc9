"""Training throughput: the project's training loop against the lab notebook's loop.

    python -m benchmarks.bench_training                 # N = 2000 and 50000, ~6 minutes
    python -m benchmarks.bench_training --sizes 2000 --repeats 1 --dvc   # + ~15 min

For each data size N (synthetic 64x64 faces generated in memory) and each model, runs the
reference loop (benchmarks/reference.py: DataLoader over a float32 TensorDataset, batch 64)
and the project's loop (facegen.train.vae.vae_epoch / facegen.train.gan.gan_epoch, the code the stages run) in
alternating worker processes, so both see the same machine state and each one's peak memory
is its own. The project's GAN step passes real and fake faces through the discriminator
together; its ratio is against the reference loop given that same step (`reference_joint`),
and that loop's ratio to the lab's two-pass step is what the step costs.

Prints a table and writes benchmarks/results.json. With --dvc, also the
pipeline's own figures: a no-op and a render-only `dvc repro` in this checkout, and `dvc repro`
from scratch with the default params, train.precision fp32 against auto, per stage.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BATCH = 64
# The lab's loop given the project's GAN step (one discriminator pass over real and fake):
# the project's GAN loop is measured against it, like with like.
JOINT = "reference_joint"


def synthetic_faces(n: int, seed: int = 0) -> torch.Tensor:
    """(n, 1, 64, 64) uint8: the 400 ORL faces, shifted, brightened and noised at random."""
    from facegen.data import orl_faces

    base = torch.from_numpy(orl_faces()).to(torch.int16)  # (400, 64, 64)
    rng = torch.Generator().manual_seed(seed)
    out = torch.empty(n, 1, 64, 64, dtype=torch.uint8)
    for start in range(0, n, 1000):
        stop = min(n, start + 1000)
        pick = base[torch.randint(0, 400, (stop - start,), generator=rng)]
        pick = torch.roll(pick, shifts=int(torch.randint(-3, 4, (1,), generator=rng)), dims=2)
        pick = pick + torch.randint(-20, 21, (stop - start, 1, 1), generator=rng)
        pick = pick + torch.randint(-8, 9, pick.shape, generator=rng, dtype=torch.int16)
        out[start:stop, 0] = pick.clamp(0, 255).to(torch.uint8)
    return out


def flops_per_image(model_kind: str, impl: str) -> float:
    """Floating-point operations of one training step of ``impl``, per image (forward and
    backward; the project's GAN step skips D's weight gradients in the G pass)."""
    from torch.utils.flop_counter import FlopCounterMode

    from benchmarks import reference
    from facegen.config import GANConfig
    from facegen.models import GAN, VAE
    from facegen.train.gan import gan_step
    from facegen.train.vae import vae_step

    x = torch.rand(8, 1, 64, 64)
    model = VAE(64) if model_kind == "vae" else GAN(64)
    optimizers = [torch.optim.Adam(m.parameters()) for m in model.children()]
    with FlopCounterMode(display=False) as counter:
        if model_kind == "vae" and impl == "reference":
            reference.vae_step(model, torch.optim.Adam(model.parameters()), x)
        elif model_kind == "vae":
            vae_step(model, torch.optim.Adam(model.parameters()), x, torch.randn(8, 64), 1.0)
        elif impl.startswith("reference"):
            reference.gan_step(model, *optimizers, x, joint=impl == JOINT)
        else:
            gan_step(model, optimizers, x, torch.randn(8, 64), GANConfig())
    return counter.get_total_flops() / 8


def matmul_ceiling_gflops(size: int = 2048, repeats: int = 10) -> float:
    """float32 matrix-product throughput on this machine: the practical compute ceiling."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    started = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9


def worker(impl: str, model_kind: str, n: int, batches: int, precision: str) -> dict:
    """Train ``batches`` batches of 64 (after 2 warm-up batches); report images/s and peak RSS."""
    from benchmarks import reference
    from facegen.config import GANConfig, TrainConfig, VAEConfig
    from facegen.models import GAN, VAE
    from facegen.process import keep_freed_memory
    from facegen.runtime import make_runtime
    from facegen.train.gan import gan_epoch
    from facegen.train.schedules import lr_scheduler
    from facegen.train.vae import vae_epoch

    images = synthetic_faces(n)  # uint8, as the project keeps them
    torch.manual_seed(0)
    warmup = 2
    if impl.startswith("reference"):
        loader = reference.make_loader(images, BATCH)
        del images  # the reference holds the float32 copy inside its TensorDataset
        model = VAE(64) if model_kind == "vae" else GAN(64)
        if model_kind == "vae":
            optimizer = torch.optim.Adam(model.parameters())
            reference.vae_epoch(model, optimizer, loader, warmup)
            started = time.perf_counter()
            seen = reference.vae_epoch(model, optimizer, loader, batches)
        else:
            optimizers = tuple(torch.optim.Adam(m.parameters(), betas=(0.5, 0.999)) for m in model.children())
            reference.gan_epoch(model, optimizers, loader, warmup, impl == JOINT)
            started = time.perf_counter()
            seen = reference.gan_epoch(model, optimizers, loader, batches, impl == JOINT)
    else:
        keep_freed_memory()  # as every stage does (facegen.cli.run)
        runtime = make_runtime("cpu", TrainConfig(precision=precision))
        rng = torch.Generator().manual_seed(0)
        # The project's epoch over a slice of exactly warmup / batches batches.
        warm, timed = images[: warmup * BATCH], images[: batches * BATCH]
        if model_kind == "vae":
            config = VAEConfig(batch_size=BATCH)
            model = runtime.place(VAE(64))
            optimizer = runtime.adam(model.parameters(), config.lr, config.betas)
            scheduler = lr_scheduler(optimizer, config, len(timed) // BATCH)
            vae_epoch(model, optimizer, scheduler, warm, config, rng, runtime)
            started = time.perf_counter()
            vae_epoch(model, optimizer, scheduler, timed, config, rng, runtime)
        else:
            config = GANConfig(batch_size=BATCH)
            model = runtime.place(GAN(64))
            optimizers = tuple(
                runtime.adam(m.parameters(), config.lr, config.betas) for m in model.children()
            )
            schedulers = tuple(lr_scheduler(o, config, len(timed) // BATCH) for o in optimizers)
            gan_epoch(model, optimizers, schedulers, warm, config, rng, runtime)
            started = time.perf_counter()
            gan_epoch(model, optimizers, schedulers, timed, config, rng, runtime)
        seen = len(timed)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    return {"images_per_s": seen / seconds, "peak_rss_mb": peak_mb}


def run_worker(impl: str, model_kind: str, n: int, batches: int, precision: str) -> dict:
    command = [
        sys.executable,
        "-m",
        "benchmarks.bench_training",
        "--worker",
        impl,
        model_kind,
        str(n),
        str(batches),
    ]
    result = subprocess.run([*command, precision], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(args: argparse.Namespace, flops: dict[tuple[str, str], float], ceiling: float) -> list[dict]:
    """Every loop at every size, alternating runs; one row per (size, model, loop, precision)."""
    project = [("project", "fp32")] + ([("project", "bf16")] if args.bf16 else [])
    variants = {
        "vae": [("reference", "fp32"), *project],
        "gan": [("reference", "fp32"), (JOINT, "fp32"), *project],
    }
    rows = []
    for n in args.sizes:
        for kind in ("vae", "gan"):
            runs: dict[tuple[str, str], list[dict]] = {v: [] for v in variants[kind]}
            for _ in range(args.repeats):  # alternate, so drift in machine speed hits all alike
                for impl, precision in variants[kind]:
                    runs[(impl, precision)].append(run_worker(impl, kind, n, args.batches, precision))
            rows += summarise_runs(n, kind, runs, flops, ceiling)
    return rows


def summarise_runs(
    n: int, kind: str, runs: dict[tuple[str, str], list[dict]], flops: dict, ceiling: float
) -> list[dict]:
    """Rows of one size and model: each loop's median speed, its ratio (the project against
    the reference loop with the same step; the references against the lab's), peak memory."""
    speeds = {v: statistics.median(r["images_per_s"] for r in results) for v, results in runs.items()}
    like = (JOINT, "fp32") if kind == "gan" else ("reference", "fp32")
    rows = []
    for (impl, precision), results in runs.items():
        base = speeds[like] if impl == "project" else speeds[("reference", "fp32")]
        speed = speeds[(impl, precision)]
        gflops = speed * flops[(kind, impl)] / 1e9
        rows.append(
            {
                "n": n,
                "model": kind,
                "loop": impl,
                "precision": precision,
                "images_per_s": round(speed, 1),
                "ratio_to_reference": round(speed / base, 2),
                "peak_rss_mb": round(max(r["peak_rss_mb"] for r in results)),
                "gflops": round(gflops, 1),
                "fraction_of_matmul_ceiling": round(gflops / ceiling, 3),
            }
        )
        print(
            f"N={n:6d} {kind} {impl:15s} {precision}  {speed:7.1f} img/s  x{speed / base:4.2f}  "
            f"peak {rows[-1]['peak_rss_mb']:5d} MB  {gflops:6.1f} GFLOP/s ({gflops / ceiling:.0%} of matmul)",
            flush=True,
        )
    return rows


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 50000])
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs per variant")
    parser.add_argument("--batches", type=int, default=12, help="timed batches of 64 per run")
    parser.add_argument("--bf16", action="store_true", help="also time the project loop in bf16")
    parser.add_argument(
        "--dvc",
        action="store_true",
        help="also time no-op and render-only dvc repro in this checkout, and the whole default "
        "pipeline from scratch with train.precision fp32 against auto (~15 min on 2 cores)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results.json", help="where the JSON goes")
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = arguments()
    if args.worker:
        impl, model_kind, n, batches, precision = args.worker
        print(json.dumps(worker(impl, model_kind, int(n), int(batches), precision)))
        return
    ceiling = matmul_ceiling_gflops()
    loops = (
        ("vae", "reference"),
        ("vae", "project"),
        ("gan", "reference"),
        ("gan", JOINT),
        ("gan", "project"),
    )
    flops = {(kind, impl): flops_per_image(kind, impl) for kind, impl in loops}
    machine = {"processor": platform.processor() or platform.machine(), "cpus": torch.get_num_threads()}
    machine |= {"torch": torch.__version__, "matmul_fp32_gflops": round(ceiling, 1)}
    results = {
        "machine": machine,
        "flops_per_image": {f"{kind}/{impl}": round(v) for (kind, impl), v in flops.items()},
        "batch": BATCH,
        "rows": measure(args, flops, ceiling),
    }
    print(f"fp32 matmul ceiling {ceiling:.0f} GFLOP/s")
    args.out.write_text(json.dumps(results, indent=2) + "\n")  # kept if dvc fails
    if args.dvc:
        from benchmarks.stage_timer import add_dvc_timings

        add_dvc_timings(results, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
