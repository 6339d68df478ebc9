"""The README and docs/ as a newcomer reads them: every relative link and picture leads to a
file of the repository (and to a heading there, where it names one), the README stays short,
and the commands it gives are the ones CI and the benchmarks run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")  # [text](target) and ![alt](target)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)  # no headings in code
    return {slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def test_docs_exist_one_per_concern():
    names = {p.name for p in PAGES[1:]}
    assert {"models.md", "judging.md", "choosing-defaults.md", "performance.md"} <= names
    assert {"reproducibility.md", "parameters.md"} <= names
    for page in PAGES[1:]:  # each opens with its title and what it answers
        lines = page.read_text().splitlines()
        assert lines[0].startswith("# ") and lines[1] == "" and len(lines[2]) > 40, page.name


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_relative_link_and_image_resolves(page):
    targets = [t for t in LINK.findall(page.read_text()) if not re.match(r"[a-z]+:", t)]
    assert targets or page.name != "README.md"
    for target in targets:
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.is_file(), f"{page.name}: {target} -> {resolved} is no file"
        assert ROOT in resolved.parents, f"{page.name}: {target} leaves the repository"
        if anchor:
            assert anchor in anchors(resolved), f"{page.name}: no heading #{anchor} in {resolved.name}"


def test_the_readme_is_short_and_its_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    assert len(readme) <= 12_000
    (command,) = re.findall(r"^(\S.*?)\s+# the test suite", readme, flags=re.MULTILINE)
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci


def test_the_readme_commands_are_the_ones_the_benchmarks_measure():
    from benchmarks.architectures import dcgan_command
    from benchmarks.rehearse_ck import ck_command

    readme = (ROOT / "README.md").read_text()
    assert ck_command() in readme  # benchmarks/rehearse_ck.py times it
    assert ck_command("ck-dcgan", "dcgan") in readme  # and with --architecture dcgan
    assert dcgan_command() in readme  # benchmarks/architectures.py runs it beside the lab's
