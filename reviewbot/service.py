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
* Every review that gave a verdict (posted, logged only, dry run, error) is handed to the
  history's recorder once the verdict is out (``reviewbot.history.capture``); the database is
  written on the recorder's thread, so it never delays or loses a verdict.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from reviewbot import logs, metrics
from reviewbot.acceptance import accept_and_waive
from reviewbot.composition import (
    NO_RECORDER,
    ReviewInputs,
    current_settings,
    hub_access,
    make_platform,
)
from reviewbot.errors import PermanentError
from reviewbot.history.capture import Trace
from reviewbot.models import ContributionRef, Kind
from reviewbot.outcome import ReviewOutcome
from reviewbot.platforms.base import DONE, FAILED, REFUSED, SEEN
from reviewbot.platforms.dry_run import DryRunPlatform
from reviewbot.publication import ERROR_HEADLINE, build_publication, error_publication
from reviewbot.workspace import fetch_review, observe
from reviewbot.writer import Acknowledge, Writer

if TYPE_CHECKING:
    from reviewbot.config import Settings
    from reviewbot.platforms.base import PlatformClient

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
    if reason == "fix":
        return _fix(ref, requested_by, platform, settings, inputs)
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
        ack = Acknowledge(platform, ref, comment_id if reason in COMMANDS else None)
        trace = Trace()
        outcome = _review(
            ref,
            platform,
            reason=reason,
            requested_by=requested_by,
            inputs=inputs,
            ack=ack,
            trace=trace,
            accept=accept,
        )
        refused = outcome.status == "refused"
        ack(REFUSED if refused else FAILED if _failed(outcome, reason) else DONE)
        trace.remember(inputs.recorder, platform, ref, outcome, reason, requested_by)
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


def _fix(
    ref: ContributionRef,
    requested_by: str | None,
    platform: PlatformClient | None,
    settings: Settings | None,
    inputs: ReviewInputs | None,
) -> ReviewOutcome:
    """``/reviewbot fix`` (``reviewbot.fixing``): the same job, queue and retries as a review."""
    from reviewbot.fixing import fix_contribution

    with logs.bind(review=ref.display, reason="fix"):
        done = fix_contribution(
            ref, requested_by=requested_by, platform=platform, settings=settings, inputs=inputs
        )
    outcome = ReviewOutcome(
        done.status, ref.key, head_sha=done.head_sha, detail=done.detail, would=done.would
    )
    log.info("fix %s: %s", outcome.status, outcome.detail, extra={"key": outcome.key})
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
    trace = Trace()
    outcome = _post_error(ref, message, platform, inputs)
    trace.remember(inputs.recorder, platform, ref, outcome, "review", None)
    return _with_would(platform, outcome)


def _post_error(
    ref: ContributionRef, message: str, platform: PlatformClient, inputs: ReviewInputs
) -> ReviewOutcome:
    writer = Writer.of(platform, inputs)
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
    ack: Acknowledge,
    trace: Trace,
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
    writer = Writer.of(client, inputs)
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

    trace.reviewed = reviewed
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
        # recorded once, by the caller, with the report that was refused
        quiet = replace(inputs, recorder=NO_RECORDER)
        return post_error_safely(ref, message, platform=client, inputs=quiet) or ReviewOutcome(
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
