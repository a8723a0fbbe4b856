"""Python files a loader imports or runs, read with ``ast``: which loader, and what they reach."""

from __future__ import annotations

import ast
import tomllib
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource
from checks.weights.context import ScanContext

LOADER_CODE = "loader-code"
RUNS_ON_LOAD = "code-runs-on-load"
UNPARSABLE = "loader-code-unparsable"


@lru_cache(maxsize=1)
def _rules() -> dict[str, str]:
    table = tomllib.loads(Path(__file__).with_name("code_rules.toml").read_text("utf-8"))
    return {str(k): str(v) for k, v in table["calls"].items()}


def scan_loader_code(source: ByteSource, ctx: ScanContext, loader: str) -> None:
    """One finding that a loader runs this file, and a critical one per dangerous call."""
    if source.size > ctx.limits.max_config_bytes:
        raise LimitExceeded(f"Python file of {source.size} bytes")
    ctx.report(LOADER_CODE, Severity.MEDIUM, f"{loader} runs this file: read it before merging")
    try:
        tree = ast.parse(source.read_at(0, source.size))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        ctx.report(
            UNPARSABLE, Severity.HIGH, f"run by {loader} but not parsable Python: cannot be checked"
        )
        return
    for line, call, why in dangerous_calls(tree):
        ctx.report(
            RUNS_ON_LOAD,
            Severity.CRITICAL,
            f"{loader} runs this file, and it calls {call}: {why}",
            detail=f"line {line}",
        )


def dangerous_calls(tree: ast.AST) -> list[tuple[int, str, str]]:
    """(line, dotted call, why) for every call the rule table names, import aliases resolved."""
    aliases = _aliases(tree)
    rules = _rules()
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        if name is None:
            continue
        head, _, rest = name.partition(".")
        resolved = aliases.get(head, head) + (f".{rest}" if rest else "")
        why = next((w for pattern, w in rules.items() if fnmatchcase(resolved, pattern)), None)
        if why is not None:
            found.append((node.lineno, resolved, why))
    return found


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local names bound by imports anywhere in the file -> the dotted name they stand for."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.expr) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))
