from pathlib import Path

import pytest

from facegen.memory import _cgroup_headroom, _meminfo_available, available_memory


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
