"""What triage reads from the history: rows, filters, the risk order, and the reader protocol.

``reviewbot triage --format json`` and ``GET /dashboard/api/contributions`` both emit
``{"contributions": [row.to_json(), ...]}``; other tools depend on that shape (docs/triage.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

State = Literal["open", "closed", "merged"]
StateFilter = Literal["open", "closed", "all"]
Sort = Literal["risk", "age", "updated"]
SEVERITIES = ("critical", "high", "medium", "low", "info")
VERDICTS = ("fail", "error", "warn", "pass")
# Failing first; a contribution not yet reviewed waits ahead of the passing ones.
_RISK = {"fail": 0, "error": 1, "warn": 2, None: 3, "pass": 4}


@dataclass(frozen=True)
class Worst:
    """The worst finding of a review."""

    rule: str
    severity: str
    path: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "path": self.path,
            "message": self.message,
        }


@dataclass(frozen=True)
class ContributionRow:
    """One contribution with its latest review, as a triage list shows it."""

    platform: str  # "github" or "hf"
    repo: str
    number: int  # 0 for a new model repository
    title: str
    author: str
    first_time: bool
    url: str
    state: State
    head_sha: str | None
    verdict: str | None  # None: never reviewed
    worst: Worst | None
    counts: Mapping[str, int]
    base_models: Sequence[str]
    licence: str | None
    opened_at: datetime
    reviewed_at: datetime | None
    updated_at: datetime | None = None
    size_bytes: int | None = None

    @property
    def ref(self) -> str:
        return f"{self.platform}:{self.repo}#{self.number}"

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "repo": self.repo,
            "number": self.number,
            "title": self.title,
            "author": self.author,
            "first_time": self.first_time,
            "url": self.url,
            "state": self.state,
            "head_sha": self.head_sha,
            "verdict": self.verdict,
            "worst": self.worst.to_json() if self.worst else None,
            "counts": {name: int(self.counts.get(name, 0)) for name in SEVERITIES},
            "base_models": list(self.base_models),
            "licence": self.licence,
            "size_bytes": self.size_bytes,
            "opened_at": _iso(self.opened_at),
            "updated_at": _iso(self.updated_at),
            "reviewed_at": _iso(self.reviewed_at),
        }


@dataclass(frozen=True)
class TriageQuery:
    """The filters ``reviewbot triage`` and the dashboard share; empty tuples mean "any"."""

    repos: tuple[str, ...] = ()  # "github:OWNER/REPO" or "hf:ORG/MODEL"
    verdicts: tuple[str, ...] = ()  # from VERDICTS, plus "none" for never reviewed
    state: StateFilter = "open"
    since: datetime | None = None  # updated (or reviewed) at or after
    sort: Sort = "risk"
    limit: int | None = None
    offset: int = 0
    visible_repos: frozenset[str] | None = field(default=None)  # None: no restriction


def risk_key(row: ContributionRow, now: datetime | None = None) -> tuple[int, float]:
    """Failing first, then whatever has waited longest since it was opened."""
    now = now or datetime.now(UTC)
    return (_RISK.get(row.verdict, 3), -(now - row.opened_at).total_seconds())


class HistoryReader(Protocol):
    """What triage needs from the store; the SQL store and in-memory fakes both provide it."""

    def contributions(self, query: TriageQuery) -> list[ContributionRow]: ...

    def count(self, query: TriageQuery) -> int: ...


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None
