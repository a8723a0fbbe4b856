"""A contribution's verdict history for its page: what each review changed from the one before."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reviewbot.history.store import ReviewRecord

_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


def finding_key(finding: Mapping[str, Any]) -> tuple[str, str, str]:
    """A finding's identity across heads: the same rule on the same file with the same text."""
    return (
        str(finding.get("rule", "")),
        str(finding.get("path", "")),
        str(finding.get("message", "")),
    )


@dataclass(frozen=True)
class Step:
    """One review, with the findings it added and removed compared with the review before."""

    review: ReviewRecord
    added: list[Mapping[str, Any]]
    removed: list[Mapping[str, Any]]
    first: bool


def steps(reviews_newest_first: Sequence[ReviewRecord]) -> list[Step]:
    """Newest first, as the page lists them."""
    oldest_first = list(reversed(reviews_newest_first))
    out: list[Step] = []
    before: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for i, review in enumerate(oldest_first):
        now: dict[tuple[str, str, str], Mapping[str, Any]] = {
            finding_key(f): f for f in review.findings
        }
        added = [f for k, f in now.items() if k not in before]
        removed = [f for k, f in before.items() if k not in now]
        out.append(Step(review, sorted_findings(added), sorted_findings(removed), i == 0))
        before = now
    return list(reversed(out))


def sorted_findings(findings: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(
        findings,
        key=lambda f: (_SEVERITY_ORDER.get(str(f.get("severity")), 5), str(f.get("path", ""))),
    )


_SHOWN = frozenset({"check", "rule", "severity", "path", "message", "location"})


def eval_tables(findings: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The evals' recorded details (their findings' extra fields), one table per finding."""
    tables = []
    for finding in findings:
        if finding.get("check") != "evals":
            continue
        rows = [(str(k), _cell(v)) for k, v in finding.items() if k not in _SHOWN]
        if rows:
            tables.append((f"{finding.get('rule', '')} — {finding.get('path', '')}", rows))
    return tables


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    return str(value)
