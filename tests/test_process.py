"""What the machine gives the process: memory and CPUs, as the kernel and the cgroup say."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from facegen.process import _cgroup_headroom, _meminfo_available, available_cpus, available_memory, cpu_quota


@pytest.mark.skipif(not Path("/proc/meminfo").is_file(), reason="Linux's /proc/meminfo")
def test_available_memory_is_what_the_kernel_says_at_most():
    total = (
        int(
            next(
                line
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal:")
            ).split()[1]
        )
        * 1024
    )
    available = available_memory()
    assert available is not None and 0 < available <= total
    assert available <= _meminfo_available()


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text + "\n")
    return root


def test_a_cgroup_limit_caps_what_is_available(tmp_path):
    v2 = write(tmp_path / "v2", {"memory.max": str(4 << 30), "memory.current": str(1 << 30)})
    assert _cgroup_headroom(v2) == 3 << 30
    assert _cgroup_headroom(write(tmp_path / "v2max", {"memory.max": "max", "memory.current": "5"})) is None
    v1 = write(
        tmp_path / "v1",
        {"memory/memory.limit_in_bytes": str(2 << 30), "memory/memory.usage_in_bytes": str(3 << 30)},
    )
    assert _cgroup_headroom(v1) == 0  # over its limit already: nothing left
    unlimited = write(
        tmp_path / "v1max",
        {"memory/memory.limit_in_bytes": str(9223372036854771712), "memory/memory.usage_in_bytes": "7"},
    )
    assert _cgroup_headroom(unlimited) is None
    assert _cgroup_headroom(tmp_path / "none") is None


def test_a_cgroup_quota_caps_the_cpus_and_none_leaves_the_affinity(tmp_path):
    affinity = len(os.sched_getaffinity(0))
    assert cpu_quota(write(tmp_path / "v2", {"cpu.max": "150000 100000"})) == 1.5
    assert available_cpus(tmp_path / "v2") == min(affinity, 1)  # whole CPUs: 1.5 -> 1
    assert cpu_quota(write(tmp_path / "v2max", {"cpu.max": "max 100000"})) is None
    assert available_cpus(tmp_path / "v2max") == affinity
    v1 = write(tmp_path / "v1", {"cpu/cpu.cfs_quota_us": "400000", "cpu/cpu.cfs_period_us": "100000"})
    assert cpu_quota(v1) == 4.0 and available_cpus(v1) == min(affinity, 4)
    assert (
        cpu_quota(
            write(tmp_path / "v1none", {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"})
        )
        is None
    )
    assert available_cpus(write(tmp_path / "tiny", {"cpu.max": "10000 100000"})) == 1  # never 0


def test_importing_facegen_makes_torch_threads_sleep_and_fit_the_cpus():
    """Before torch loads: OpenMP reads its settings once. A user's own settings win."""
    code = "import facegen, os, torch; print(os.environ['OMP_WAIT_POLICY'], os.environ['OMP_NUM_THREADS'], torch.get_num_threads())"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    cpus = available_cpus()
    assert run.stdout.split() == ["PASSIVE", str(cpus), str(cpus)]
    mine = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env | {"OMP_NUM_THREADS": "1"},
        check=True,
    )
    assert mine.stdout.split() == ["PASSIVE", "1", "1"]
