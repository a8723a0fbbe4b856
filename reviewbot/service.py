"""One review of one contribution on its platform: fetch, check, post the verdict (no Celery here).

Rules the service keeps, whoever calls it (the Celery task, the embedded pool, the CLI):

* Idempotent per ``ContributionRef.key`` (platform, repository, number, head sha): the verdict is
  one sticky comment, edited in place; a re-delivered ``review`` whose verdict for that sha is
  already posted does nothing. A ``recheck`` always posts again, editing the same comment; when
  the same head and base commits were reviewed before by this version with the same settings,
  that review is reused and no file is read (``reviewbot.review_cache``).
* Big Git LFS files are not downloaded: the checks read them through HTTP range requests, and
  the per-file result cache skips blobs scanned before (``Contribution.remote``).
* A superseded head sha is never posted: the head is read again right before every write.
* One job writes to a contribution at a time (``reviewbot.publish_lock``), and every write looks
  for what an earlier attempt made before it creates anything, so a create that happened but
  answered 5xx, a job redelivered beside its first delivery, or a push and a re-check at the same
  moment still leave one comment and one completed check run.
* A write that fails transiently is tried again here when the platform asks for a short wait
  (``retry_policy.IN_PROCESS_WAIT``), the lock released meanwhile; a longer wait propagates.
* Re-checks and accepts: on GitHub only a collaborator with write, maintain or admin
  permission may ask; on the Hub the repository's owner or a member of the owning organisation
  with write access (``reviewbot.platforms.hub_permissions``). Anyone else is ignored without a
  reply (a reply per comment would let any passer-by make the bot post at will), and the refusal
  is logged and acknowledged with a reaction where the platform has them.
* An accept (``reviewbot.acceptance``) records waivers tied to the files' content, then reviews
  again: every review takes the contribution's waivers out of the verdict and shows them.
* Transient platform errors propagate (the task retries them); permanent ones become an "error"
  verdict in the sticky comment, so a maintainer sees the review could not be done.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from reviewbot import logs, metrics, retry_policy
from reviewbot.acceptance import accept_and_waive
from reviewbot.composition import (
    ReviewInputs,
    current_settings,
    hub_access,
    make_platform,
)
from reviewbot.errors import PermanentError, PlatformError, TransientError
from reviewbot.models import ContributionRef, Kind
from reviewbot.notify import should_comment
from reviewbot.platforms.base import DONE, FAILED, REFUSED, SEEN
from reviewbot.platforms.dry_run import DryRunPlatform
from reviewbot.publication import ERROR_HEADLINE, build_publication, error_publication
from reviewbot.publish_lock import PublishLocks
from reviewbot.started_runs import StartedRuns
from reviewbot.workspace import fetch_review, observe

if TYPE_CHECKING:
    from reviewbot.config import Settings
    from reviewbot.platforms.base import PlatformClient, Publication

__all__ = [
    "ReviewInputs",
    "ReviewOutcome",
    "build_publication",
    "evaluate_contribution",
    "hub_access",
    "make_platform",
    "post_error",
    "post_error_safely",
    "review_contribution",
]

log = logging.getLogger(__name__)

# Commands a person gives: checked against their permission, acknowledged by reactions.
COMMANDS = ("recheck", "accept")
# "logged": reviewed, the verdict only logged (a new fine-tune, ``comment_on_new_models`` off)
Status = Literal["posted", "logged", "unchanged", "superseded", "skipped", "refused", "error"]


@dataclass(frozen=True)
class ReviewOutcome:
    """What one call did; JSON-safe, so a task can return it."""

    status: Status
    key: str
    verdict: str | None = None
    head_sha: str | None = None
    detail: str = ""
    # In a dry run, what would have been posted (nothing was).
    would: tuple[str, ...] = ()
    # An accept: how many findings it accepted (0: none it could; None: not an accept).
    accepted: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def review_contribution(
    ref: ContributionRef,
    *,
    reason: str = "review",
    requested_by: str | None = None,
    platform: PlatformClient | None = None,
    settings: Settings | None = None,
    inputs: ReviewInputs | None = None,
    comment_id: int | None = None,
    accept: str | None = None,
) -> ReviewOutcome:
    """Review ``ref`` and post (or edit) its verdict; see the module docstring for the rules.

    ``requested_by`` (a GitHub login, a Hub user id) is checked only for a ``recheck``; None
    means an operator (the CLI) or the platform's own re-run button, which needs write access.
    ``settings`` also say which Hub the base models' cards come from (``HF_ENDPOINT``,
    ``HF_TOKEN``); without them a Hub platform's own endpoint and token serve. ``inputs``, when
    given, replace what the settings say about caches and transfer bounds (benchmarks use it).
    ``comment_id`` is the comment that asked for a ``recheck`` or an ``accept``: it gets
    reactions (seen, then done or refused), never a reply. ``accept`` is an accept's
    ``RULE [PATH] -- reason`` (``reviewbot.waivers``).
    """
    if reason not in COMMANDS and reason != "review":
        raise ValueError(f"unknown reason {reason!r}")
    if (reason == "accept") != (accept is not None):
        raise ValueError("an accept, and only an accept, names what it accepts")
    if platform is None:
        settings = settings or current_settings()
        platform = make_platform(ref.platform, settings)
    inputs = inputs or ReviewInputs.of(settings, platform)
    platform = _dry(platform, inputs)
    with logs.bind(review=ref.display, reason=reason):
        ack = _Acknowledge(platform, ref, comment_id if reason in COMMANDS else None)
        outcome = _review(
            ref,
            platform,
            reason=reason,
            requested_by=requested_by,
            inputs=inputs,
            ack=ack,
            accept=accept,
        )
        refused = outcome.status == "refused"
        ack(REFUSED if refused else FAILED if _failed(outcome, reason) else DONE)
        outcome = _with_would(platform, outcome)
    verdict = outcome.verdict if outcome.status in ("posted", "logged", "error") else "skipped"
    metrics.REVIEWS.labels(platform=ref.platform.value, verdict=verdict or "skipped").inc()
    log.info(
        "review %s: %s",
        outcome.status,
        outcome.detail or outcome.verdict or "",
        extra={"key": outcome.key, "status": outcome.status},
    )
    return outcome


def post_error(
    ref: ContributionRef,
    message: str,
    *,
    platform: PlatformClient | None = None,
    settings: Settings | None = None,
    inputs: ReviewInputs | None = None,
) -> ReviewOutcome:
    """Post an "error" verdict (a review that timed out, say) unless the head moved on or a
    verdict for this head is already out (another job for it succeeded meanwhile)."""
    if platform is None:
        settings = settings or current_settings()
        platform = make_platform(ref.platform, settings)
    inputs = inputs or ReviewInputs.of(settings, platform)
    platform = _dry(platform, inputs)
    return _with_would(platform, _post_error(ref, message, platform, inputs))


def _post_error(
    ref: ContributionRef, message: str, platform: PlatformClient, inputs: ReviewInputs
) -> ReviewOutcome:
    writer = _Writer.of(platform, inputs)
    head = platform.head_sha(ref)
    if ref.head_sha and ref.head_sha != head:
        return writer.supersede(ref, head)
    ref = replace(ref, head_sha=head)
    if platform.published(ref, head):
        return ReviewOutcome(
            "unchanged", ref.key, head_sha=head, detail="a verdict is already posted"
        )
    stale = writer.post(ref, error_publication(ref, head, message))
    if stale is not None:
        return stale
    metrics.REVIEWS.labels(platform=ref.platform.value, verdict="error").inc()
    log.warning("review error posted: %s", message, extra={"key": ref.key})
    return ReviewOutcome("error", ref.key, verdict="error", head_sha=head, detail=message)


def post_error_safely(
    ref: ContributionRef,
    message: str,
    *,
    platform: PlatformClient | None = None,
    settings: Settings | None = None,
    inputs: ReviewInputs | None = None,
) -> ReviewOutcome | None:
    """``post_error`` for a review that finally failed: best effort, never raises.

    The platform may well be failing still; then the failure is logged and None returned.
    """
    try:
        return post_error(ref, message, platform=platform, settings=settings, inputs=inputs)
    except Exception:
        log.exception("could not post the error verdict", extra={"key": ref.key})
        return None


def _review(
    ref: ContributionRef,
    client: PlatformClient,
    *,
    reason: str,
    requested_by: str | None,
    inputs: ReviewInputs,
    ack: _Acknowledge,
    accept: str | None = None,
) -> ReviewOutcome:
    if (
        reason in COMMANDS
        and requested_by is not None
        and not client.may_recheck(ref, requested_by)
    ):
        return ReviewOutcome("refused", ref.key, detail=f"{reason} asked by a non-collaborator")
    ack(SEEN)
    skip = client.skip_reason(ref)
    if skip is not None:
        return ReviewOutcome("skipped", ref.key, detail=skip)
    if reason == "review" and ref.kind is Kind.NEW_MODEL and _has_verdict(client, ref):
        # pushes go on after a fine-tune is uploaded; its verdict is given once (a re-check
        # from the CLI reviews it again)
        return ReviewOutcome("skipped", ref.key, detail="a new model is reviewed once")
    writer = _Writer.of(client, inputs)
    head = client.head_sha(ref)
    if ref.head_sha and ref.head_sha != head:
        return writer.supersede(ref, head)
    ref = replace(ref, head_sha=head)
    # "Already done" only when the whole verdict is out: a job that died between the comment
    # and completing its check run must finish the run when its message comes back.
    if reason == "review" and client.published(ref, head):
        return ReviewOutcome("unchanged", ref.key, head_sha=head, detail="verdict already posted")

    stale = writer.open_run(ref)
    if stale is not None:
        return stale
    began = time.monotonic()
    try:
        reviewed = fetch_review(ref, client, head, inputs)
    except PermanentError as exc:
        stale = writer.post(ref, error_publication(ref, head, str(exc)))
        return stale or ReviewOutcome(
            "error", ref.key, verdict="error", head_sha=head, detail=str(exc)
        )

    report, listing, notify = reviewed.report, reviewed.listing, reviewed.notify
    observe(ref, report)
    blobs = {f.path: f.blob_sha for f in listing.files if f.blob_sha}
    acceptance = accept_and_waive(ref, report, inputs.waivers, accept, requested_by, blobs=blobs)
    publication = build_publication(
        ref,
        acceptance.report,
        listing,
        head,
        accepted=acceptance.accepted,
        notes=acceptance.notes,
    )
    if ref.kind is Kind.NEW_MODEL and not inputs.comment_on_new_models:
        # someone else's repository: a discussion there only when the operator asks for it
        log.info("new model verdict %s (not posted)", publication.verdict, extra={"key": ref.key})
        return ReviewOutcome(
            "logged",
            ref.key,
            verdict=publication.verdict,
            head_sha=head,
            detail="verdict logged only: REVIEWBOT_COMMENT_ON_NEW_MODELS is off",
        )
    try:
        stale = writer.post(ref, publication, notify)
    except PermanentError as exc:
        # The verdict was refused (a body too long, a permission lost): say so in its place,
        # or the check run opened by ``begin`` would stay in progress forever.
        message = f"the verdict could not be posted: {exc}"
        log.warning("publish refused: %s", exc, extra={"key": ref.key})
        return post_error_safely(ref, message, platform=client, inputs=inputs) or ReviewOutcome(
            "error", ref.key, verdict="error", head_sha=head, detail=message
        )
    if stale is not None:
        return stale
    from reviewbot.dashboard import after_verdict

    after_verdict(client, ref)  # opt-in per repository; never changes the outcome
    return ReviewOutcome(
        "posted",
        ref.key,
        verdict=publication.verdict,
        head_sha=head,
        detail=f"{len(report.files)} files in {time.monotonic() - began:.1f}s",
        accepted=acceptance.made,
    )


def _has_verdict(client: PlatformClient, ref: ContributionRef) -> bool:
    """A verdict is out; an "error" one (the review could not be done) does not count."""
    posted = client.find_verdict(ref)
    return posted is not None and ERROR_HEADLINE not in posted[:400]


def _failed(outcome: ReviewOutcome, reason: str) -> bool:
    """The command could not do what was asked: an error verdict, nothing to review, or an
    accept that accepted nothing (a critical finding, no such finding, a malformed command, a
    head that moved on)."""
    unaccepted = reason == "accept" and not outcome.accepted
    return outcome.status == "skipped" or outcome.verdict == "error" or unaccepted


@dataclass(frozen=True)
class _Acknowledge:
    """Reactions on the comment that asked for a re-check: best effort, as they are only an
    acknowledgement; a failure is logged and the review goes on."""

    client: PlatformClient
    ref: ContributionRef
    comment_id: int | None

    def __call__(self, content: str) -> None:
        if self.comment_id is None:
            return
        try:
            self.client.react(self.ref, self.comment_id, content)
        except PlatformError as exc:
            log.info("could not react %s: %s", content, exc, extra={"key": self.ref.key})


WRITE_ATTEMPTS = 4  # in this job, before a transient failure becomes the task's retry


@dataclass(frozen=True)
class _Writer:
    """Every write to one contribution: under its lock, for its head only, the check run it
    opens recorded until closed (``reviewbot.started_runs``), short waits retried in the job."""

    client: PlatformClient
    locks: PublishLocks
    started: StartedRuns

    @classmethod
    def of(cls, client: PlatformClient, inputs: ReviewInputs) -> _Writer:
        return cls(client, inputs.locks, inputs.started)

    def open_run(self, ref: ContributionRef) -> ReviewOutcome | None:
        """Show the review under way; the "superseded" outcome if ``ref`` is no longer the head."""

        def begin() -> None:
            self.client.begin(ref, _head(ref))
            self.started.started(ref)

        return self._write(ref, begin)

    def post(
        self, ref: ContributionRef, publication: Publication, notify: str = "on-change"
    ) -> ReviewOutcome | None:
        """Post the verdict, the comment only as ``notify`` says (``reviewbot.notify``); the
        "superseded" outcome (nothing posted) if the head moved on."""

        def publish() -> None:
            # decided under the lock: what is posted now is what a concurrent job left
            speak = should_comment(
                notify,
                verdict=publication.verdict,
                fingerprint=publication.fingerprint,
                posted=self.client.find_verdict(ref),
                has_status=self.client.has_status,
            )
            if not speak:
                log.info("comment left as it is (%s)", notify, extra={"key": ref.key})
            self.client.publish(ref, replace(publication, comment=speak))
            self.started.finished(ref)

        return self._write(ref, publish)

    def supersede(self, ref: ContributionRef, head: str) -> ReviewOutcome:
        """``ref`` is for a commit that is no longer the head (now ``head``): close the run any
        attempt opened for it (a retry after a rate limit, say), so none stays in progress."""
        with self.locks.hold(ref):
            self.client.cancel(ref, _head(ref))
        self.started.finished(ref)
        return ReviewOutcome(
            "superseded", ref.key, head_sha=ref.head_sha, detail=f"head is now {head}"
        )

    def _write(self, ref: ContributionRef, write: Callable[[], None]) -> ReviewOutcome | None:
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self.locks.hold(ref):
                    current = self.client.head_sha(ref)
                    if current == ref.head_sha:
                        write()
                        return None
                return self.supersede(ref, current)
            except TransientError as exc:
                wait = (
                    exc.retry_after
                    if exc.retry_after is not None
                    else retry_policy.backoff(attempt)
                )
                if attempt + 1 >= WRITE_ATTEMPTS or wait > retry_policy.IN_PROCESS_WAIT:
                    raise
                log.info("write failed (%s); again in %.1f s", exc, wait, extra={"key": ref.key})
                time.sleep(wait)
        raise AssertionError("unreachable: the last attempt raises")


def _dry(platform: PlatformClient, inputs: ReviewInputs) -> PlatformClient:
    """The platform as this call may use it: writing nothing in a dry run."""
    if inputs.dry_run and not isinstance(platform, DryRunPlatform):
        return DryRunPlatform(platform)
    return platform


def _with_would(platform: PlatformClient, outcome: ReviewOutcome) -> ReviewOutcome:
    """In a dry run, the outcome names what would have been posted."""
    if not isinstance(platform, DryRunPlatform) or outcome.would:
        return outcome  # not a dry run, or a nested call (the error verdict) said it already
    said = "; ".join(platform.would) or "nothing"
    detail = f"{outcome.detail}; dry run, would: {said}" if outcome.detail else f"dry run: {said}"
    return replace(outcome, would=tuple(platform.would), detail=detail)


def _head(ref: ContributionRef) -> str:
    assert ref.head_sha is not None  # the flow pins the head before any write
    return ref.head_sha


def evaluate_contribution(ref: ContributionRef, *, reason: str = "review") -> ReviewOutcome:
    """Tier-2 evals (the ``evals`` queue): a placeholder until ``checks/evals`` provides them.

    What it will need: an entry point in ``checks.evals`` taking a Contribution (the downloaded
    folder plus the base model's snapshot from ``reviewbot.base_model.download_base``) and
    returning a CheckResult; this function then fetches like ``review_contribution``, merges
    that result into the report and edits the same sticky comment. Until then it posts nothing.
    """
    _ = reason
    return ReviewOutcome(
        "skipped", ref.key, head_sha=ref.head_sha, detail="tier-2 evals not wired yet"
    )
