"""A repository's review policy: what it allows beyond the defaults and how it grades findings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from checks.findings import Finding, Severity

NOTIFY_MODES = ("on-change", "always", "on-failure")


@dataclass(frozen=True)
class Policy:
    """Defaults are the bot's own; a repository's policy file only adds to them or regrades.

    ``extra_allowed_imports`` holds ``module.name`` strings (or ``module.*``) the weight scanner
    lets pass; critical primitives stay critical whatever a policy says.
    """

    extra_allowed_imports: frozenset[str] = frozenset()
    severity_overrides: Mapping[str, Severity] = field(default_factory=dict)
    allowed_licences: frozenset[str] = frozenset()
    header_exempt: tuple[str, ...] = ()
    # Free-form thresholds from the policy file's [evals] table; the evals check reads them.
    eval_thresholds: Mapping[str, float] = field(default_factory=dict)
    # [triage] dashboard-issue: keep one issue listing the open contributions (GitHub only).
    dashboard_issue: bool = False
    # When the bot comments ([notify] comment): "on-change", "always" or "on-failure".
    notify_comment: str = "on-change"

    def apply_overrides(self, findings: Iterable[Finding]) -> list[Finding]:
        """Regrade findings by rule id. Critical findings are never lowered: fail closed."""
        out: list[Finding] = []
        for finding in findings:
            new = self.severity_overrides.get(finding.rule)
            if new is not None and finding.severity < Severity.CRITICAL:
                finding = replace(finding, severity=new)
            out.append(finding)
        return out
