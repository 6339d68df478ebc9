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


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> tuple[Path, set[str]]:
    """One `dvc repro` of the pipeline on tiny params in a fresh repo, and the stages it ran.
    Shared by the end-to-end tests, which each take a copy (``pipeline_repo.copy_repo``)."""
    from pipeline_repo import make_repo, repro

    repo = make_repo(tmp_path_factory.mktemp("tiny") / "repo")
    return repo, repro(repo)
