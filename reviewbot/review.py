"""A local review: a folder in, a report out. The service runs the same function on downloads."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from checks.base import Check, Contribution, ProgressCallback
from checks.policy import Policy
from checks.registry import default_checks
from checks.report import Report
from checks.runner import run_checks
from reviewbot.files import contribution_files


def review_folder(
    root: Path,
    *,
    base: Path | None = None,
    policy: Policy | None = None,
    compute_sha256: bool = False,
    checks: Sequence[Check] | None = None,
    progress: ProgressCallback | None = None,
) -> Report:
    contribution = Contribution(
        root=root,
        files=contribution_files(root),
        base=base,
        policy=policy or Policy(),
        compute_sha256=compute_sha256,
    )
    return run_checks(contribution, checks if checks is not None else default_checks(), progress)
