"""What the machine gives the process: memory and CPUs, as the kernel and the cgroup say."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from facegen.process import (
    _cgroup_headroom,
    _meminfo_available,
    available_cpus,
    available_memory,
    cpu_quota,
    others_running,
)


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


def test_others_running_reads_the_kernels_count_of_runnable_threads(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  1 2 3\nprocs_running 1\nprocs_blocked 0\n")  # only the one looking
    assert not others_running(stat, window=0)
    stat.write_text("cpu  1 2 3\nprocs_running 3\nprocs_blocked 0\n")
    assert others_running(stat, window=0)
    assert not others_running(tmp_path / "missing", window=0)  # not Linux: as if alone


IMPORT = "import facegen, os, torch; print(os.environ.get('OMP_WAIT_POLICY'), os.environ['OMP_NUM_THREADS'], torch.get_num_threads())"
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}


def importing(env: dict[str, str]) -> list[str]:
    """What a fresh process that imports facegen, then torch, sets and gets."""
    return subprocess.run(
        [sys.executable, "-c", IMPORT], capture_output=True, text=True, env=env, check=True
    ).stdout.split()


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="Linux's /proc/stat")
def test_importing_facegen_beside_busy_work_makes_torch_threads_sleep_and_fit_the_cpus():
    """Before torch loads: OpenMP reads its settings once. A user's own settings win."""
    cpus = str(available_cpus())
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)
        assert importing(ENV) == ["PASSIVE", cpus, cpus]
        assert importing(ENV | {"OMP_NUM_THREADS": "1"}) == ["PASSIVE", "1", "1"]
        assert importing(ENV | {"GOMP_SPINCOUNT": "1000"})[0] == "None"  # the user's choice
    finally:
        busy.kill()
        busy.wait()
