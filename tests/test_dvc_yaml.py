"""dvc.yaml is the table of contents: every file a stage reads or writes is named in its command, and every
module it imports is one of its deps (or DVC would serve stale outputs after a change to it)."""

import ast
import re
from pathlib import Path

import yaml

from conftest import REPO

PACKAGES = ("colorizer", "stages")


def module_file(name: str) -> Path | None:
    """The repository file of module ``name`` (a package's ``__init__.py``), None outside the repository."""
    if name.split(".")[0] not in PACKAGES:
        return None
    path = REPO.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def imported_files(module: str) -> set[Path]:
    """Every repository file that running ``module`` imports: its own imports, theirs, and each package's
    ``__init__.py`` on the way (imports inside functions count: they run too)."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__.py and a/b/__init__.py first
            path = module_file(".".join(parts[:i]))
            if path is None or path in seen or not path.exists():
                continue
            seen.add(path)
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    todo += [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    todo.append(node.module)
                    todo += [f"{node.module}.{alias.name}" for alias in node.names]  # from pkg import module
    return seen


def test_every_imported_module_is_a_dependency_of_its_stage():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    missing = {}
    for name, stage in stages.items():
        module = re.match(r"python -m (\S+)", stage["cmd"]).group(1)
        deps = {REPO / d for d in stage.get("deps", []) if isinstance(d, str)}
        absent = sorted(p.relative_to(REPO).as_posix() for p in imported_files(module) - deps)
        if absent:
            missing[name] = absent
    assert not missing, f"dvc.yaml: stages import modules their deps do not list: {missing}"
    assert "colorizer/network/builder.py" in {p.relative_to(REPO).as_posix() for p in imported_files("stages.train")}


def test_export_depends_on_the_code_it_logs_with_the_model():
    """The logged model's code is a file export names rather than imports (MLflow runs it at load time)."""
    export = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["export"]
    logged = re.search(
        r'python_model=CODE / "(\w+)" / "(\w+\.py)"', (REPO / "colorizer/tracking/logged_model.py").read_text()
    )
    assert logged, "colorizer/tracking/logged_model.py no longer names the model's code as CODE / PACKAGE / FILE"
    assert f"colorizer/{logged.group(1)}/{logged.group(2)}" in export["deps"]


def paths_of(entries) -> set[str]:
    return {e if isinstance(e, str) else next(iter(e)) for e in entries or ()}


def test_every_stage_is_given_its_files_in_its_command():
    """The files a stage tracks are the arguments of its command, and nothing else is: no stage finds a data
    file or a model by a path of its own."""
    for name, stage in yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"].items():
        arguments = set(stage["cmd"].split()[3:])
        data = {d for d in paths_of(stage.get("deps")) if not d.endswith(".py") and "${" not in d}
        written = paths_of(stage.get("outs")) | paths_of(stage.get("metrics")) | paths_of(stage.get("plots"))
        assert arguments == data | written, name
