"""The pre-commit hooks: the weight scan and the SPDX header rule over the files it passes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from checks.base import Contribution
    from checks.findings import Finding

EXIT_OK, EXIT_FAIL = 0, 1
# Header findings that block a commit; a deprecated id is printed but does not.
BLOCKING_HEADER_RULES = frozenset(
    {"licence-header-missing", "licence-header-invalid", "licence-header-mismatch", "check-crashed"}
)


def add_hook_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hook = sub.add_parser(
        "hook", help="pre-commit hooks: check only the files given (paths from the repository root)"
    )
    hook.add_argument("kind", choices=("scan", "licence"), help="which hook to run")
    hook.add_argument("files", nargs="*", metavar="FILE")
    hook.set_defaults(func=lambda args: run_hook(args.kind, args.files, Path.cwd(), sys.stdout))


def run_hook(kind: str, files: Sequence[str], root: Path, out: TextIO) -> int:
    """Run one hook over ``files`` (relative to ``root``, the repository pre-commit runs in)."""
    from checks.base import Contribution
    from checks.policy_file import load_policy

    rels = sorted({rel for name in files if (rel := _relative(root, name)) is not None})
    # No base branch in a hook: the working tree's policy is the one that will land.
    policy, _ = load_policy(root)
    contribution = Contribution(root=root, files=rels, policy=policy)
    return _scan(contribution, out) if kind == "scan" else _licence(contribution, out)


def _relative(root: Path, name: str) -> str | None:
    path = Path(name) if Path(name).is_absolute() else root / name
    if path.is_symlink() or not path.is_file():
        return None  # a link may point anywhere; pre-commit passes deleted files never
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None  # outside the repository: not ours to judge


def _scan(contribution: Contribution, out: TextIO) -> int:
    from checks.findings import Severity, Verdict
    from checks.runner import run_checks
    from checks.weights.check import WeightScanCheck

    report = run_checks(contribution, [WeightScanCheck()])
    _print([f for f in report.sorted_findings() if f.severity >= Severity.MEDIUM], out)
    if report.verdict is not Verdict.FAIL:
        return EXIT_OK
    print(
        f"reviewbot: commit blocked ({len(report.files)} files scanned): a file above can run "
        "code when it is loaded, or is not what its name claims",
        file=out,
    )
    return EXIT_FAIL


def _licence(contribution: Contribution, out: TextIO) -> int:
    from checks.licence.check import LicenceCheck
    from checks.runner import run_checks

    report = run_checks(contribution, [LicenceCheck()])
    given = set(contribution.files)
    # Only the files pre-commit passed: the card and LICENSE are the review's business.
    shown = [
        f
        for f in report.sorted_findings()
        if f.rule == "check-crashed" or (f.rule.startswith("licence-header") and f.path in given)
    ]
    _print(shown, out)
    blocking = {f.path for f in shown if f.rule in BLOCKING_HEADER_RULES}
    if not blocking:
        return EXIT_OK
    print(f"reviewbot: {len(blocking)} files need their SPDX licence header fixed", file=out)
    return EXIT_FAIL


def _print(findings: Sequence[Finding], out: TextIO) -> None:
    from reviewbot.render.visible import visible

    for f in findings:
        where = f" ({f.location})" if f.location else ""
        line = f"{f.path}{where}: {f.severity.label} {f.check}/{f.rule}: {f.message}"
        print(visible(line), file=out)
