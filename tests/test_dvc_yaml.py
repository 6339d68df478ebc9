"""dvc.yaml must list, for each stage, exactly the src modules its script imports, so an
edit to a module reruns the stages that use it and no others."""

import ast
from pathlib import Path

import yaml

from conftest import ROOT


def module_file(name: str) -> Path | None:
    """The file of module ``facegen...``: a package's ``__init__.py`` or a module's ``.py``."""
    path = ROOT / "src" / name.replace(".", "/")
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


def closure(script: Path) -> set[str]:
    seen, todo = set(), set(facegen_imports(script))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo |= facegen_imports(module_file(name))
    return {str(module_file(n).relative_to(ROOT)) for n in seen}


def test_each_stage_depends_on_exactly_the_modules_it_imports():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        script = ROOT / "stages" / f"{name}.py"
        assert f"stages/{name}.py" in stage["deps"], name
        listed = {d for d in stage["deps"] if d.startswith("src/")}
        assert listed == closure(script), name


def test_every_params_key_belongs_to_a_stage():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    used = {p.split(".")[0] for s in stages.values() for p in s.get("params", [])}
    assert used == set(params)
