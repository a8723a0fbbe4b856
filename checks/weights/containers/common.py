"""What every container parser shares: nested scans, fail-closed guards, member paths."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import PurePosixPath

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource
from checks.weights.context import DecompressionBudget, ScanContext, not_scanned

SMALL_MEMBER = 1 << 20  # members this small are read whole (and CRC-checked) whatever they hold
PLAIN_FORMATS = frozenset({"text", "unknown", "png", "empty"})
TORCH_KINDS = frozenset({"pytorch-zip", "torchscript"})
COMPRESSION_SUFFIXES = frozenset([".gz", ".gzip", ".bz2", ".xz", ".lzma", ".z", ".zlib", ".lz4"])


# ---------------------------------------------------------------- shared helpers


@contextmanager
def shared_budget(ctx: ScanContext) -> Iterator[DecompressionBudget]:
    assert ctx.budget is not None  # ScanContext always makes one
    yield ctx.budget


def scan_nested(source: ByteSource, ctx: ScanContext) -> str:
    """Scan a member with the dispatcher the scanner put in the context (this module never
    imports the scanner); without one, fail closed rather than skip the member."""
    if ctx.scan_nested is not None:
        return ctx.scan_nested(source, ctx)
    return not_scanned(ctx)


def guarded(ctx: ScanContext, parser: str, call: Callable[[], object]) -> None:
    """Run another module's parser the way the dispatcher would: fail closed on surprises."""
    try:
        call()
    except LimitExceeded as exc:
        report_limit(ctx, str(exc))
    except Exception as exc:  # a parser surprise must never read as a pass
        ctx.report(
            "scanner-error",
            Severity.HIGH,
            f"the {parser} parser could not finish ({type(exc).__name__}: {exc}); "
            "the file cannot be shown safe",
        )


def scan_pickle(source: ByteSource, ctx: ScanContext) -> None:
    from checks.weights import pickle_walk

    guarded(ctx, "pickle", lambda: pickle_walk.scan_pickle_source(source, ctx))


def scan_pickle_bytes(data: bytes, ctx: ScanContext) -> None:
    from checks.weights import pickle_walk

    guarded(ctx, "pickle", lambda: pickle_walk.scan_pickle_bytes(data, ctx, max_streams=1))


def report_limit(ctx: ScanContext, what: str) -> None:
    ctx.report("limit-exceeded", Severity.HIGH, f"scan stopped at a safety bound: {what}")


def report_malformed(ctx: ScanContext, what: str) -> None:
    ctx.report(
        "malformed-archive",
        Severity.HIGH,
        f"{what}; the archive cannot be shown safe",
    )


def check_member_path(name: str, ctx: ScanContext) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
        ctx.report(
            "archive-path-traversal",
            Severity.MEDIUM,
            "member path escapes the extraction folder; tools that unpack it write elsewhere",
        )
