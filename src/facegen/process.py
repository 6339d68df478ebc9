"""What the machine gives this process, read when a stage asks, never on import.

- CPUs: those the process's affinity allows, capped by its cgroup's CPU quota (a
  container's, a CI runner's), and of those the ones no other busy thread holds when a
  stage starts (:func:`cpu_share`), which size torch's threads and the face judges: threads
  that outnumber the cores wait for each other at every parallel region (docs/performance.md).
- Memory: the kernel's estimate of what can be allocated without swapping, capped by the
  cgroup's memory limit, so that a file too large for the machine is refused in a sentence
  before the out-of-memory killer ends the process without one.
- glibc: freed memory stays in the heap for reuse.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import time
from pathlib import Path

GIB = 1 << 30
CGROUP = Path("/sys/fs/cgroup")


def _read_numbers(path: Path) -> list[str] | None:
    try:
        return path.read_text().split()
    except OSError:
        return None


def cpu_quota(root: Path = CGROUP) -> float | None:
    """The cgroup's CPU quota in CPUs (v2 ``cpu.max``, then v1 ``cpu.cfs_quota_us``), or None
    without one."""
    v2 = _read_numbers(root / "cpu.max")  # "150000 100000", or "max 100000" for none
    if v2 and len(v2) == 2 and v2[0].isdigit() and v2[1].isdigit():
        return int(v2[0]) / int(v2[1])
    quota, period = (
        _read_numbers(root / "cpu" / "cpu.cfs_quota_us"),
        _read_numbers(root / "cpu" / "cpu.cfs_period_us"),
    )
    if quota and period and quota[0].isdigit() and period[0].isdigit():  # v1 writes -1 for none
        return int(quota[0]) / int(period[0])
    return None


def available_cpus(root: Path = CGROUP) -> int:
    """CPUs this process may use: its affinity's count, capped by the cgroup's quota (whole
    CPUs, at least 1)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        cpus = os.cpu_count() or 1
    quota = cpu_quota(root)
    return max(1, min(cpus, int(quota))) if quota is not None else cpus


def busy_threads(stat: Path = Path("/proc/stat"), window: float = 0.1) -> int:
    """Other threads running or ready to run: the median over ``window`` seconds of the
    kernel's ``procs_running`` less the one looking, which never sleeps, so two processes
    that start together see each other. 0 where the count cannot be read (not Linux)."""
    counts: list[int] = []
    deadline = time.monotonic() + window
    while not counts or time.monotonic() < deadline:
        line = next((x for x in _read_lines(stat) if x.startswith("procs_running ")), None)
        if line is None:
            return 0
        counts.append(max(0, int(line.split()[1]) - 1))
    return sorted(counts)[len(counts) // 2]


def cpu_share(root: Path = CGROUP, stat: Path = Path("/proc/stat")) -> int:
    """CPUs for this process's threads now: :func:`available_cpus` less the threads other
    processes keep busy, at least 1."""
    return max(1, available_cpus(root) - busy_threads(stat))


def _meminfo_available() -> int | None:
    """``MemAvailable`` of /proc/meminfo, in bytes (Linux 3.14 and later)."""
    for line in _read_lines(Path("/proc/meminfo")):
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024  # the file counts in kB
    return None


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError:
        return []


def _sysconf_available() -> int | None:
    """Free physical pages times the page size (where /proc/meminfo is missing)."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _read_int(path: Path) -> int | None:
    numbers = _read_numbers(path)
    return int(numbers[0]) if numbers and numbers[0].isdigit() else None  # v2 writes "max" for none


def _cgroup_headroom(root: Path = CGROUP) -> int | None:
    """The cgroup's memory limit minus what it uses (v2, then v1); None without a limit."""
    for limit_name, usage_name in (
        ("memory.max", "memory.current"),
        ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes"),
    ):
        limit, usage = _read_int(root / limit_name), _read_int(root / usage_name)
        if limit is not None and usage is not None and limit < 1 << 60:  # v1's "no limit" is ~2^63
            return max(limit - usage, 0)
    return None


def available_memory(root: Path = CGROUP) -> int | None:
    """Bytes this process can still allocate, or None where the system does not say."""
    known = [
        b for b in (_meminfo_available() or _sysconf_available(), _cgroup_headroom(root)) if b is not None
    ]
    return min(known) if known else None


def keep_freed_memory() -> bool:
    """Have glibc keep freed memory in the heap for reuse, instead of mapping every large
    block afresh and handing it back to the kernel when it is freed.

    A CPU training step frees and re-allocates the same activation buffers (up to 34 MB each
    at batch 64) every step. With glibc's defaults each of them is page-faulted in again,
    31 000 faults per VAE step and 90 000 per GAN step at batch 64; with this, none (see
    docs/performance.md). No effect on any number computed. Returns whether it took: False
    where the C library has no ``mallopt`` (macOS, Windows) or refuses it (musl)."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    # <malloc.h>: M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3. 1 GiB is above any one
    # activation, and a fixed threshold also stops glibc's own dynamic adjustment.
    return bool(mallopt(-3, 1 << 30)) and bool(mallopt(-1, 1 << 30))
