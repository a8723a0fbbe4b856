"""Runs checks over a contribution and fails closed: a check that crashes is a failing finding."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from checks.base import Check, Contribution, FileFacts, ProgressCallback
from checks.findings import Finding, Severity
from checks.report import CheckSummary, Report, build_report

log = logging.getLogger(__name__)


def run_checks(
    contribution: Contribution,
    checks: Sequence[Check],
    progress: ProgressCallback | None = None,
) -> Report:
    findings: list[Finding] = []
    facts: list[FileFacts] = []
    summaries: list[CheckSummary] = []
    for check in checks:
        summary = CheckSummary(name=check.name, title=check.title)
        try:
            result = check.run(contribution, progress)
        except Exception as exc:  # fail closed: an unfinished check must not read as a pass
            log.error("the %s crashed: %s", check.title, exc)
            log.debug("traceback", exc_info=True)
            findings.append(
                Finding(
                    check=check.name,
                    rule="check-crashed",
                    severity=Severity.HIGH,
                    path=".",
                    message=f"the {check.title} did not finish ({type(exc).__name__}); "
                    "nothing it would have checked can be trusted",
                )
            )
        else:
            findings.extend(contribution.policy.apply_overrides(result.findings))
            facts.extend(result.files)
            summary.notes.extend(result.notes)
        summaries.append(summary)
    return build_report(findings, facts, summaries)
