"""Symbolic links in a contribution: a loader that opens one reads whatever it points at."""

from __future__ import annotations

import os
from pathlib import Path

from checks.findings import Finding, Severity
from checks.weights.locations import climbs_out, fixed_path_problem

CHECK = "weights"
OUTSIDE = "symlink-outside"
INSIDE = "symlink"


def link_finding(display: str, target: str | None, where: str) -> Finding:
    """The finding for a link at repository path ``where`` (shown as ``display``) to ``target``:
    HIGH when the target leaves the repository or cannot be read, LOW when it stays inside."""
    if target is None or leaves_repository(where, target):
        shown = "an unreadable target" if target is None else repr(target)
        return Finding(
            CHECK,
            OUTSIDE,
            Severity.HIGH,
            display,
            f"a symbolic link to {shown}, outside the repository: a loader that opens it (an "
            "ONNX external-data sidecar, a tokenizer or config file) reads that file instead",
            extra={"target": target},
        )
    return Finding(
        CHECK,
        INSIDE,
        Severity.LOW,
        display,
        f"a symbolic link to {target!r} inside the repository: the Hub stores no links, and a "
        "loader that opens it reads the target; it was not scanned as a file of its own",
        extra={"target": target},
    )


def leaves_repository(where: str, target: str) -> bool:
    """A link at ``where`` (repository-relative) to ``target`` points out of the repository."""
    return fixed_path_problem(target) is not None or climbs_out(target, where)


def symlink_finding(link: Path, display: str, root: Path) -> Finding:
    """A local link below ``root``: only the link is read (``readlink``), never its target."""
    try:
        target: str | None = os.readlink(link)
    except OSError:
        target = None
    return link_finding(display, target, link.relative_to(root).as_posix())
