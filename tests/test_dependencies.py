"""Every third-party module the runtime imports is a declared runtime dependency."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN = {"checks", "reviewbot", "workers", "__future__"}


def canonical(name: str) -> str:
    """PEP 503 normalisation, so `Jinja2` and `jinja2` are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    return canonical(re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0])


def imported_modules() -> dict[str, set[str]]:
    """Top-level third-party module -> the project files importing it (in functions too)."""
    found: dict[str, set[str]] = {}
    for package in sorted(OWN - {"__future__"}):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_bytes())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in OWN:
                        found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_runtime_imports_are_declared_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {requirement_name(r) for r in project["dependencies"]}
    evals = {requirement_name(r) for r in project["optional-dependencies"]["evals"]}
    providers = importlib.metadata.packages_distributions()
    undeclared = {}
    for module, files in imported_modules().items():
        dists = {canonical(d) for d in providers.get(module, [module])}
        if dists & runtime:
            continue
        # The evals extra is for tier 2 alone: nothing else may need torch or transformers.
        if dists & evals and all("/tier2/" in f or "tier2" in f for f in files):
            continue
        undeclared[module] = sorted(files)
    assert not undeclared, f"imported but not declared in [project].dependencies: {undeclared}"


def test_the_evals_extra_holds_only_the_model_stack() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert {requirement_name(r) for r in project["optional-dependencies"]["evals"]} == {
        "torch",
        "transformers",
    }
