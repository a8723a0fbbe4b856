"""What a finished review leaves in the history: its record, built from the report, and the
contribution's facts, read from the platform; handed to the recorder, never raising."""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from reviewbot import __version__
from reviewbot.history.records import ContributionMeta, ReviewRecord
from reviewbot.history.view import SEVERITIES, Worst

if TYPE_CHECKING:
    from checks.licence.card import Card
    from checks.policy import Policy
    from checks.report import Report
    from reviewbot.history.recorder import Recorder
    from reviewbot.models import ContributionRef
    from reviewbot.platforms.base import FileListing, PlatformClient
    from reviewbot.workspace import Reviewed

log = logging.getLogger(__name__)
RECORDED = frozenset({"posted", "logged", "error"})  # a verdict was given (or would have been)


class Outcome(Protocol):
    """What ``reviewbot.service.ReviewOutcome`` tells the history."""

    @property
    def status(self) -> str: ...

    @property
    def head_sha(self) -> str | None: ...

    @property
    def verdict(self) -> str | None: ...


@dataclass
class Trace:
    """What the review flow learnt on its way, for the history: when it began, what it read."""

    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    reviewed: Reviewed | None = None

    def remember(
        self,
        recorder: Recorder,
        client: PlatformClient,
        ref: ContributionRef,
        outcome: Outcome,
        reason: str,
        requested_by: str | None,
    ) -> None:
        """Hand a review that gave a verdict to ``recorder``; never raises, never waits."""
        head, verdict = outcome.head_sha, outcome.verdict
        if outcome.status not in RECORDED or head is None or verdict is None:
            return
        seen = self.reviewed
        remember(
            recorder, client, replace(ref, head_sha=head),
            head_sha=head, reason=reason, requested_by=requested_by, verdict=verdict,
            started_at=self.started, finished_at=datetime.now(UTC),
            report=seen.report if seen else None, listing=seen.listing if seen else None,
            policy=seen.policy if seen else None, card=seen.card if seen else None,
        )  # fmt: skip


def policy_fingerprint(policy: Policy | None) -> str:
    """A short hash of everything the policy says (None: the default policy)."""
    from checks.policy import Policy

    fields = asdict(policy or Policy())
    text = json.dumps(fields, sort_keys=True, default=_canonical)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _canonical(value: Any) -> Any:
    if isinstance(value, frozenset | set):
        return sorted(value)
    return str(value)  # Severity values and anything else: their names


def review_record(
    *,
    head_sha: str,
    reason: str,
    requested_by: str | None,
    verdict: str,
    started_at: datetime,
    finished_at: datetime,
    report: Report | None = None,
    listing: FileListing | None = None,
    policy: Policy | None = None,
) -> ReviewRecord:
    """One review as the history keeps it; without a report (an error verdict) no findings."""
    findings = report.sorted_findings() if report is not None else []
    counts = Counter(f.severity.label for f in findings)
    worst = (
        Worst(findings[0].rule, findings[0].severity.label, findings[0].path, findings[0].message)
        if findings
        else None
    )
    files = [f.to_dict() for f in report.files] if report is not None else []
    scans = {f.path: f.platform_scan for f in report.files if f.platform_scan} if report else {}
    sizes = [f.size for f in listing.files if f.status != "removed"] if listing else []
    return ReviewRecord(
        head_sha=head_sha,
        reason=reason,
        verdict=verdict,
        started_at=started_at,
        finished_at=finished_at,
        reviewbot_version=__version__,
        policy_fingerprint=policy_fingerprint(policy),
        requested_by=requested_by,
        counts={name: counts.get(name, 0) for name in SEVERITIES},
        worst=worst,
        findings=[f.to_dict() for f in findings],
        files=files,
        # the contribution's size as listed (what triage sorts by); unknown if any size is
        size_bytes=sum(s for s in sizes if s is not None) if sizes and None not in sizes else None,
        hub_scan=scans or None,
    )


def contribution_meta(client: PlatformClient, ref: ContributionRef) -> ContributionMeta:
    """The platform's facts, or only the contribution's identity when it cannot say."""
    try:
        return client.contribution_meta(ref)
    except Exception as exc:  # a verdict is out: the history makes do with less, never raises
        log.warning(
            "contribution facts unavailable (%s): kept without them",
            type(exc).__name__,
            extra={"key": ref.key},
        )
        return ContributionMeta(
            platform=ref.platform.value,
            repo=ref.repo,
            number=ref.number,
            kind=ref.kind.value,
            opened_at=datetime.now(UTC),
        )


def with_card(meta: ContributionMeta, card: Card | None) -> ContributionMeta:
    """The card's base models and licence where the platform gave none (GitHub has no card
    metadata of its own: the card in the pull request is what it declares)."""
    if card is None:
        return meta
    return replace(
        meta,
        base_models=tuple(meta.base_models) or card.base_models,
        licence=meta.licence or card.licence,
    )


def remember(
    recorder: Recorder,
    client: PlatformClient,
    ref: ContributionRef,
    *,
    card: Card | None = None,
    **review: Any,
) -> None:
    """Hand ``recorder`` this review (``review_record``'s arguments) and the contribution."""
    if not recorder.enabled:
        return  # not even the platform read: nothing would keep it
    try:
        record = review_record(**review)
        recorder.record(with_card(contribution_meta(client, ref), card), record)
    except Exception:  # the history is a by-product: a bug here must not touch the outcome
        log.exception("review not recorded in the history", extra={"key": ref.key})
