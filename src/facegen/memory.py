"""The process's memory: how much it may still take (the kernel's estimate of what can be
allocated without swapping, capped by the memory limit of the process's cgroup: a
container's, a batch job's), so that a file too large for the machine is refused in a
sentence before the kernel's out-of-memory killer ends the process without one; and how the
C library keeps what it frees."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

GIB = 1 << 30


def _meminfo_available() -> int | None:
    """``MemAvailable`` of /proc/meminfo, in bytes (Linux 3.14 and later)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # the file counts in kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def _sysconf_available() -> int | None:
    """Free physical pages times the page size (where /proc/meminfo is missing)."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # cgroup v2 writes "max" for no limit


def _cgroup_headroom(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """The cgroup's memory limit minus what it uses (v2, then v1); None without a limit."""
    for limit_name, usage_name in (
        ("memory.max", "memory.current"),
        ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes"),
    ):
        limit, usage = _read_int(root / limit_name), _read_int(root / usage_name)
        if limit is not None and usage is not None and limit < 1 << 60:  # v1's "no limit" is ~2^63
            return max(limit - usage, 0)
    return None


def available_memory() -> int | None:
    """Bytes this process can still allocate, or None where the system does not say."""
    known = [b for b in (_meminfo_available() or _sysconf_available(), _cgroup_headroom()) if b is not None]
    return min(known) if known else None


def keep_freed_memory() -> bool:
    """Have glibc keep freed memory in the heap for reuse, instead of mapping every large
    block afresh and handing it back to the kernel when it is freed.

    A CPU training step frees and re-allocates the same activation buffers (up to 34 MB each
    at batch 64) every step. With glibc's defaults each of them is page-faulted in again,
    31 000 faults per VAE step and 90 000 per GAN step at batch 64; with this, none (see the
    performance section of docs/performance.md). No effect on any number computed. Returns whether it took:
    False where the C library has no ``mallopt`` (macOS, Windows) or refuses it (musl)."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    # <malloc.h>: M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3. 1 GiB is above any one
    # activation, and a fixed threshold also stops glibc's own dynamic adjustment.
    return bool(mallopt(-3, 1 << 30)) and bool(mallopt(-1, 1 << 30))
