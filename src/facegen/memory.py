"""How much memory a process may still take: the kernel's estimate of what can be allocated
without swapping, capped by the memory limit of the process's cgroup (a container's, a
batch job's), so that a file too large for the machine is refused in a sentence before the
kernel's out-of-memory killer ends the process without one."""

from __future__ import annotations

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
