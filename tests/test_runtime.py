import subprocess
import sys

import pytest
import torch

from facegen import FacegenError
from facegen.config import TrainConfig
from facegen.runtime import make_runtime, native_bf16, seed_everything, select_device


def test_cpu_runtime_is_fp32_unless_asked():
    assert make_runtime("cpu", TrainConfig(precision="fp32")).bf16 is False
    assert make_runtime("cpu", TrainConfig(precision="bf16")).bf16 is True
    assert make_runtime("cpu", TrainConfig(precision="fp32")).describe()["precision"] == "fp32"
    assert make_runtime("cpu", TrainConfig(precision="bf16")).describe() == {
        "device": "cpu",
        "precision": "bf16",
        "threads": str(torch.get_num_threads()),  # the rounding of a CPU run follows it
        "torch": torch.__version__,
    }
    runtime = make_runtime("cpu", TrainConfig(channels_last=True))
    x = runtime.batch(torch.zeros(2, 1, 8, 8, dtype=torch.uint8))
    assert x.dtype == torch.float32 and x.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("cap", ["AVX2", "avx512_core"])
def test_auto_precision_is_fp32_where_onednn_is_capped_below_bf16(monkeypatch, cap):
    """A cap below AVX512_CORE_BF16 makes oneDNN emulate bf16, as on a CPU without it; auto
    then trains in fp32, as it would there."""
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    assert make_runtime("cpu", TrainConfig()).bf16 is False
    assert make_runtime("cpu", TrainConfig(precision="bf16")).bf16 is True  # forced: still bf16
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    hardware = native_bf16(torch.device("cpu"))
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")  # no AMX: what the CPU has stays
    assert native_bf16(torch.device("cpu")) is hardware


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message for a machine without CUDA")
def test_asking_for_a_missing_gpu_says_so():
    with pytest.raises(FacegenError, match="CUDA is not available"):
        select_device("cuda")


FAULTS_PER_STEP = """
import resource, sys, torch
from facegen.models import VAE
from facegen.process import keep_freed_memory
from facegen.runtime import Runtime
from facegen.train.vae import vae_step
if sys.argv[1] == "keep":
    assert keep_freed_memory()
runtime = Runtime(torch.device("cpu"), channels_last=True)
model = runtime.place(VAE(64))
optimizer = runtime.adam(model.parameters(), 1e-3, (0.9, 0.999))
x = runtime.batch(torch.randint(0, 256, (64, 1, 64, 64), dtype=torch.uint8))
for step in range(10):
    if step == 6:  # the heap settles within a few steps
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    vae_step(model, optimizer, x, torch.randn(64, 64), 1.0)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 4)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_freed_memory_stops_page_faulting_activations():
    """Each training step allocates the same activations again; glibc's defaults hand them
    back to the kernel, so every step page-faults them in anew."""

    def faults_per_step(mode: str) -> float:
        run = subprocess.run([sys.executable, "-c", FAULTS_PER_STEP, mode], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        return float(run.stdout)

    default, kept = faults_per_step("default"), faults_per_step("keep")
    assert default > 5000  # 34 MB and 17 MB activations at batch 64: ~31 000 measured
    assert kept < default / 4


def test_seeding_keeps_deterministic_kernels_without_filling_new_memory():
    """Deterministic algorithms, but no NaN fill of every new tensor (12 % of a dcgan GAN
    step); the seeded-repeat and resume tests under tests/train hold the bytes to it."""
    seed_everything(0)
    assert torch.are_deterministic_algorithms_enabled()
    assert not torch.utils.deterministic.fill_uninitialized_memory
