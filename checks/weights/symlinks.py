"""Symbolic links in a contribution: a loader that opens one reads whatever it points at."""

from __future__ import annotations

import os
from pathlib import Path

from checks.findings import Finding, Severity

CHECK = "weights"
OUTSIDE = "symlink-outside"
INSIDE = "symlink"


def symlink_finding(link: Path, display: str, root: Path) -> Finding:
    """HIGH when ``link`` leads out of ``root`` (or cannot be read), LOW when it stays inside.

    Only the link itself is read (``readlink``): what it points at is never opened.
    """
    try:
        target = os.readlink(link)
    except OSError:
        target = None
    if target is None:
        return _outside(display, "an unreadable target")
    resolved = Path(os.path.normpath(link.parent / target))
    inside = Path(os.path.normpath(root.absolute()))
    if not resolved.is_absolute():
        resolved = Path(os.path.normpath(Path.cwd() / resolved))
    if resolved != inside and inside not in resolved.parents:
        return _outside(display, repr(target))
    return Finding(
        CHECK,
        INSIDE,
        Severity.LOW,
        display,
        f"a symbolic link to {target!r} inside the repository: the Hub stores no links, and a "
        "loader that opens it reads the target; it was not scanned as a file of its own",
        extra={"target": target},
    )


def _outside(display: str, target: str) -> Finding:
    return Finding(
        CHECK,
        OUTSIDE,
        Severity.HIGH,
        display,
        f"a symbolic link to {target}, outside the repository: a loader that opens it (an ONNX "
        "external-data sidecar, a tokenizer or config file) reads that file instead",
        extra={"target": target},
    )
