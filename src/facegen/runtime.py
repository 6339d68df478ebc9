"""Where and how tensors are computed: device choice, torch's CPU threads, bf16 autocast,
memory format, seeding. Nothing here changes what a model learns beyond float rounding."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import nn

from facegen import FacegenError
from facegen.config import TrainConfig
from facegen.io import to_float
from facegen.process import available_cpus, cpu_share

M = TypeVar("M", bound=nn.Module)
log = logging.getLogger(__name__)


def share_cpus(threads: int | None = None) -> int:
    """Size torch's CPU threads once, as a stage starts, and return the count: ``threads``
    (a resumed run's), else the user's ``OMP_NUM_THREADS``, else the CPUs no other process
    keeps busy (:func:`facegen.process.cpu_share`). The count decides float rounding, so it
    never follows the load mid-run (docs/performance.md#beside-other-work)."""
    if threads is None:
        if "OMP_NUM_THREADS" in os.environ:
            return torch.get_num_threads()
        threads = cpu_share()
        if threads < available_cpus():
            log.info(
                "other work keeps CPUs busy: torch computes on %d thread(s) of %d", threads, available_cpus()
            )
    torch.set_num_threads(threads)
    return threads


def select_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present, then Apple MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FacegenError(f"device {name!r} was asked for but CUDA is not available; use 'auto' or 'cpu'.")
    return device


@dataclass(frozen=True)
class Runtime:
    """Where and how tensors are computed: device, bf16 autocast, memory format."""

    device: torch.device
    bf16: bool = False
    channels_last: bool = False

    def batch(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (B, 1, H, W) -> float32 in [0, 1] on the device, in the memory format."""
        x = to_float(images, self.device)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def place(self, model: M) -> M:
        model = model.to(self.device)
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def adam(self, params: Iterator[nn.Parameter], lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
        # fused: one kernel for all parameters instead of several per tensor
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=self.device.type in ("cpu", "cuda"))

    def describe(self) -> dict[str, str]:
        """How a model was trained, for its checkpoint: device type, resolved precision, CPU
        threads, torch."""
        return {
            "device": self.device.type,
            "precision": "bf16" if self.bf16 else "fp32",
            "threads": str(torch.get_num_threads()),
            "torch": str(torch.__version__),  # TorchVersion would not load with weights_only
        }


# Scoring and drawing on the CPU: NHWC (nearest upsampling is 4x faster than in NCHW), fp32.
CPU = Runtime(torch.device("cpu"), channels_last=True)


# oneDNN's instruction-set caps (ONEDNN_MAX_CPU_ISA) below its first with bf16 arithmetic,
# AVX512_CORE_BF16: under one of them oneDNN emulates bf16, as on a CPU without it.
ONEDNN_ISAS_WITHOUT_BF16 = ["SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX512_CORE", "AVX512_CORE_VNNI"]


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes in bf16 natively, as torch reports it: a CUDA GPU that
    supports it, or a CPU with AVX512_BF16 or AMX instructions (elsewhere oneDNN emulates
    bf16, slower than fp32), unless ``ONEDNN_MAX_CPU_ISA`` caps oneDNN below them."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        if os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in ONEDNN_ISAS_WITHOUT_BF16:
            return False
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch.cpu, private
        return any(getattr(torch.cpu, name, lambda: False)() for name in checks)
    return False


def make_runtime(device: str, train: TrainConfig) -> Runtime:
    """``train.precision: auto`` means bf16 autocast where the device does bf16 natively
    (:func:`native_bf16`), fp32 elsewhere; ``fp32`` and ``bf16`` force it."""
    resolved = select_device(device)
    bf16 = train.precision == "bf16" or (train.precision == "auto" and native_bf16(resolved))
    return Runtime(resolved, bf16=bf16, channels_last=train.channels_last)


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch and switch on deterministic kernels; returns a seeded CPU random-number
    generator (a run's ``rng``) for shuffling and noise, so results do not depend on what
    else drew random numbers."""
    # cuBLAS needs this workspace setting to be deterministic; harmless on the CPU.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.manual_seed(seed)
    # warn_only: a few CUDA backward kernels (nearest upsampling) have no deterministic version.
    torch.use_deterministic_algorithms(True, warn_only=True)
    # ...which also fills every new tensor with NaN before a kernel writes it, in case one
    # reads memory it never wrote: a debugging aid that cost the dcgan GAN 12 % of its time
    # (docs/performance.md). Every kernel here writes before it reads: seeded runs and
    # resumed ones repeat bit for bit without it (tests/train), and wrote the same bytes.
    torch.utils.deterministic.fill_uninitialized_memory = False
    torch.backends.cudnn.benchmark = False
    return torch.Generator().manual_seed(seed)
