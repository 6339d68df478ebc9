"""What the machine gives the process: memory and CPUs, as the kernel and the cgroup say."""

import json
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
    busy_threads,
    cpu_quota,
    cpu_share,
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


def test_busy_threads_are_the_kernels_runnable_threads_but_the_one_looking(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  1 2 3\nprocs_running 1\nprocs_blocked 0\n")  # only the one looking
    assert busy_threads(stat, window=0) == 0
    stat.write_text("cpu  1 2 3\nprocs_running 3\nprocs_blocked 0\n")
    assert busy_threads(stat, window=0) == 2
    assert busy_threads(tmp_path / "missing", window=0) == 0  # not Linux: as if alone


def test_a_stage_takes_the_cpus_no_other_thread_keeps_busy_and_at_least_one(tmp_path):
    four = write(tmp_path / "four", {"cpu.max": "400000 100000"})
    stat = tmp_path / "stat"
    stat.write_text("procs_running 2\n")  # one other thread
    assert cpu_share(four, stat) == max(1, min(len(os.sched_getaffinity(0)), 4) - 1)
    stat.write_text("procs_running 9\n")  # more than the CPUs
    assert cpu_share(four, stat) == 1


# Every module of the package imported in a fresh process, after the libraries it imports
# (whose own loading reads the system: torch, psutil under dvclive), with an audit hook that
# records every file opened: importing facegen sets nothing and reads nothing of the
# system's, and leaves torch's threads as they were.
IMPORT_ALL = """
import importlib, json, os, pkgutil, sys
import dvclive, h5py, matplotlib.pyplot, scipy.io, torch, tqdm.auto, yaml
import facegen
threads, environ, opened = torch.get_num_threads(), dict(os.environ), []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
for module in pkgutil.walk_packages(facegen.__path__, "facegen."):
    importlib.import_module(module.name)
print(json.dumps({"env": dict(os.environ) == environ, "threads": torch.get_num_threads() == threads,
                  "system": sorted({p for p in opened if p.startswith(("/proc", "/sys"))})}))
"""


def test_importing_facegen_changes_nothing_and_reads_nothing_of_the_system():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}
    run = subprocess.run([sys.executable, "-c", IMPORT_ALL], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"env": True, "threads": True, "system": []}


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="Linux's /proc/stat")
def test_beside_a_busy_process_a_stage_computes_on_the_cpus_left_and_alone_on_all():
    """What a stage's start decides (share_cpus), in fresh processes: a user's own
    OMP_NUM_THREADS wins."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}
    share = (
        "from facegen.runtime import share_cpus; import torch; print(share_cpus(), torch.get_num_threads())"
    )

    def shared(extra: dict[str, str]) -> list[int]:
        run = subprocess.run(
            [sys.executable, "-c", share], capture_output=True, text=True, env=env | extra, check=True
        )
        return [int(v) for v in run.stdout.split()]

    cpus = available_cpus()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)
        assert shared({}) == [max(1, cpus - 1)] * 2
        assert shared({"OMP_NUM_THREADS": "1"}) == [1, 1]
    finally:
        busy.kill()
        busy.wait()
