"""Python files a loader imports or runs, read with ``ast``: which loader, and what they reach."""

from __future__ import annotations

import ast

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource
from checks.weights.code.reach import dangerous_calls
from checks.weights.context import ScanContext

LOADER_CODE = "loader-code"
RUNS_ON_LOAD = "code-runs-on-load"
UNPARSABLE = "loader-code-unparsable"


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
            f"{loader} runs this file, which uses {call}: {why}",
            detail=f"line {line}",
        )
