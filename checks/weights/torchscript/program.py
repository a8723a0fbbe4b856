"""One TorchScript archive's program: which files hold it, what it calls, what that reaches."""

from __future__ import annotations

import ast

from checks.findings import Severity
from checks.weights.context import ScanContext
from checks.weights.torchscript.ops import Reference, danger_of, references

PROGRAM = "torchscript-program"
OPERATION = "torchscript-operation"
UNPARSABLE = "torchscript-unparsable"
EXTRA_FILES = "torchscript-extra-files"
_LISTED = 30  # operations named in the message; the full list goes in the finding's extra


def report_program(ctx: ScanContext, code: dict[str, bytes], extra: list[str]) -> None:
    """The program finding, and one finding per call that reaches files, processes, the network
    or native code. ``code`` maps member names to the bytes of the ``code/`` ``.py`` files."""
    operations: set[str] = set()
    for member, data in sorted(code.items()):
        tree = _parse(member, data, ctx)
        if tree is not None:
            operations |= _grade(tree, ctx.nested(member))
    ops = sorted(operations)
    files = sorted(code)
    listed = ", ".join(ops[:_LISTED]) + (
        f" and {len(ops) - _LISTED} more" if len(ops) > _LISTED else ""
    )
    ctx.report(
        PROGRAM,
        Severity.MEDIUM,
        f"TorchScript program: torch.jit.load compiles and runs the code in {len(files)} "
        f"file(s) ({', '.join(files[:5])}{', …' if len(files) > 5 else ''}) when the model "
        f"loads; it calls {len(ops)} operation(s)" + (f": {listed}" if ops else ""),
        files=files,
        operations=ops,
    )
    if extra:
        ctx.report(
            EXTRA_FILES,
            Severity.LOW,
            f"{len(extra)} extra file(s) ({', '.join(sorted(extra)[:5])}) that torch.jit.load "
            "hands to the caller's _extra_files; each is scanned as a file of its own",
            files=sorted(extra),
        )


def _parse(member: str, data: bytes, ctx: ScanContext) -> ast.AST | None:
    try:
        return ast.parse(data, filename=member)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        ctx.nested(member).report(
            UNPARSABLE,
            Severity.HIGH,
            "TorchScript code that is not parsable Python: what it runs cannot be checked",
        )
        return None


def _grade(tree: ast.AST, ctx: ScanContext) -> set[str]:
    """Report the dangerous references in one file; return the operations it calls."""
    from checks.weights.code.python import RUNS_ON_LOAD
    from checks.weights.code.reach import dangerous_calls

    called: set[str] = set()
    reported: set[tuple[str, int]] = set()
    for ref in references(tree):
        if ref.called:
            called.add(ref.target)
        danger = danger_of(ref)
        if danger is not None and (ref.target, ref.line) not in reported:
            reported.add((ref.target, ref.line))
            ctx.report(
                OPERATION,
                danger.severity,
                f"the TorchScript code {_verb(ref)} {ref.target}: {danger.reason} "
                f"({danger.category})",
                detail=f"line {ref.line}",
                operation=ref.target,
            )
    # TorchScript cannot import os, but hand-edited code torch refuses to compile is still a
    # payload for whoever execs it: grade it by the Python rules too.
    for line, call, why in dangerous_calls(tree):
        ctx.report(
            RUNS_ON_LOAD,
            Severity.CRITICAL,
            f"the TorchScript code calls {call}: {why}",
            detail=f"line {line}",
        )
    return called


def _verb(ref: Reference) -> str:
    return "calls" if ref.called else "refers to"
