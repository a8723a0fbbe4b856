"""What the history stores of a contribution and of one review: plain values, no SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reviewbot.history.view import Worst


@dataclass(frozen=True)
class ContributionMeta:
    """What the platform says of a contribution."""

    platform: str
    repo: str
    number: int
    kind: str
    opened_at: datetime
    title: str = ""
    author: str = ""
    first_time: bool = False
    base_models: Sequence[str] = ()
    licence: str | None = None
    state: str = "open"
    updated_at: datetime | None = None
    url: str = ""


@dataclass(frozen=True)
class ReviewRecord:
    """One review as stored; ``findings`` and ``files`` are JSON-safe dicts."""

    head_sha: str
    reason: str
    verdict: str
    started_at: datetime
    finished_at: datetime
    reviewbot_version: str
    policy_fingerprint: str
    requested_by: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    worst: Worst | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    size_bytes: int | None = None
    hub_scan: dict[str, str] | None = None

    @property
    def duration_seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()
