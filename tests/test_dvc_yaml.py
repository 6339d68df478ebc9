"""dvc.yaml must list, for each stage, exactly the src code its script imports (a folder where
it imports all of it), so an edit to a module reruns the stages that use it and no others;
and the code's layers import one way."""

import ast
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

SRC = ROOT / "src"


def module_file(name: str) -> Path | None:
    """The file of module ``facegen...``: a package's ``__init__.py`` or a module's ``.py``."""
    path = SRC / name.replace(".", "/")
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def facegen_imports(path: Path) -> set[str]:
    """Module names under ``facegen`` that ``path`` imports directly, with the packages that
    importing them runs (``facegen.train.vae`` runs ``facegen/train/__init__.py`` first)."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("facegen"):
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("facegen"))
    modules = {n for n in names if module_file(n)}
    return modules | {".".join(n.split(".")[:i]) for n in modules for i in range(1, n.count(".") + 1)}


def closure(script: Path) -> set[Path]:
    """Every src file importing ``script`` runs."""
    seen, todo = set(), set(facegen_imports(script))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo |= facegen_imports(module_file(name))
    return {module_file(n) for n in seen}


def as_deps(files: set[Path]) -> set[str]:
    """``files`` as dvc.yaml names them: a package folder wherever every file in it is among
    them, else the files."""
    deps = {str(f.relative_to(ROOT)) for f in files}
    for package in sorted((SRC / "facegen").glob("*/__init__.py"), key=lambda p: -len(p.parts)):
        folder = package.parent
        inside = {str(f.relative_to(ROOT)) for f in folder.rglob("*.py")}
        if inside <= deps:
            deps = (deps - inside) | {str(folder.relative_to(ROOT))}
    return deps


def test_each_stage_depends_on_exactly_the_code_it_imports():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        script = ROOT / stage["cmd"].split()[1]  # python stages/<script>.py ...
        assert str(script.relative_to(ROOT)) in stage["deps"], name
        listed = {d for d in stage["deps"] if d.startswith("src/")}
        assert listed == as_deps(closure(script)), name


def test_every_params_key_belongs_to_a_stage():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    used = {p.split(".")[0] for s in stages.values() for p in s.get("params", [])}
    assert used == set(params)


# Which layer may not import which: training never imports judging or rendering, judging
# never imports rendering, and nothing imports the stage-facing command line but the stages.
FORBIDDEN = {
    "facegen.train": ("facegen.judge", "facegen.render", "facegen.cli"),
    "facegen.judge": ("facegen.render", "facegen.cli"),
    "facegen.models": ("facegen.train", "facegen.judge", "facegen.render", "facegen.cli"),
    "facegen.data": ("facegen.models", "facegen.train", "facegen.judge", "facegen.render", "facegen.cli"),
    "facegen.render": ("facegen.train", "facegen.judge", "facegen.cli"),
}


@pytest.mark.parametrize("layer", FORBIDDEN)
def test_layers_import_one_way(layer):
    folder = module_file(layer).parent
    for path in folder.rglob("*.py"):
        imported = {str(f.relative_to(SRC)) for f in closure(path)}
        for forbidden in FORBIDDEN[layer]:
            prefix = forbidden.replace(".", "/")
            bad = sorted(f for f in imported if f == f"{prefix}.py" or f.startswith(f"{prefix}/"))
            assert not bad, f"{path.relative_to(SRC)} imports {forbidden}: {bad}"


def test_functions_and_modules_stay_short():
    """No src function over 60 lines, no module over 300 (what a reader takes in at once)."""
    for path in sorted((SRC / "facegen").rglob("*.py")):
        lines = path.read_text().splitlines()
        assert len(lines) <= 300, f"{path.relative_to(SRC)}: {len(lines)} lines"
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                assert length <= 60, f"{path.relative_to(SRC)}:{node.lineno} {node.name}: {length} lines"
