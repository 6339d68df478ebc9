from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Test data beside the project root (CI has it; users' clones do not).
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def olivetti_path() -> Path:
    path = SHARED_DATA / "olivettifaces.mat"
    if not path.is_file():
        pytest.skip(f"{path} not present (test data beside the project root)")
    return path
