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
* Re-checks: on GitHub only a collaborator with write, maintain or admin permission may ask;
  anyone else is ignored without a reply (a reply per comment would let any passer-by make the
  bot post at will) and the refusal is logged. On the Hub the webhook names the commenter by id
  only and the Hub has no per-repository permission lookup, so anyone may ask: the worst a
  stranger achieves is one more review whose verdict replaces the same comment, silently.
* Transient platform errors propagate (the task retries them); permanent ones become an "error"
  verdict in the sticky comment, so a maintainer sees the review could not be done.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from checks.findings import Finding, Severity
from checks.policy import Policy
from checks.policy_file import POLICY_FILE, load_policy
from checks.report import CheckSummary, Report
from reviewbot import logs, metrics, retry_policy
from reviewbot.errors import PermanentError, TransientError
from reviewbot.markers import MARKER, with_sha_marker
from reviewbot.models import ContributionRef, Kind, Platform
from reviewbot.platforms.base import Annotation, AnnotationLevel, Publication
from reviewbot.publish_lock import LocalLocks, PublishLocks
from reviewbot.render.escape import md
from reviewbot.render.markdown import render_markdown
from reviewbot.review import HubAccess, review_folder
from reviewbot.review_cache import review_key, storable
from reviewbot.started_runs import NoStartedRuns, StartedRuns

if TYPE_CHECKING:
    from checks.weights.cache import ResultCache
    from reviewbot.config import Settings
    from reviewbot.platforms.base import FileListing, PlatformClient
    from reviewbot.review_cache import ReviewCache

log = logging.getLogger(__name__)

# Files the checks read that a contribution seldom changes (card, licence texts, REUSE.toml,
# ignore rules, configs): top-level names, shell patterns matched in any case.
CONTEXT_FILES = (
    "README.md", "LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "LICENCE.md", "LICENCE.txt",
    "COPYING", "NOTICE*", "REUSE.toml", ".gitignore", "config.json", "tokenizer_config.json",
)  # fmt: skip
CONTEXT_MAX_BYTES = 1 << 20  # a card or licence text is kilobytes; more is not context
ERROR_HEADLINE = "**reviewbot: error**"
REUSED = "reuse"  # the check summary a reused review carries
PROCESS_LOCKS = LocalLocks()  # the embedded pool's jobs and the CLI share these
# Without settings (tests, the CLI's --inline): the settings' own defaults.
DEFAULT_REMOTE_MIN_BYTES = 1 << 20
DEFAULT_MAX_STREAM_BYTES = 2 << 30

Reason = Literal["review", "recheck"]
Status = Literal["posted", "unchanged", "superseded", "skipped", "refused", "error"]


@dataclass(frozen=True)
class Outcome:
    """What one call did; JSON-safe, so a task can return it."""

    status: Status
    key: str
    verdict: str | None = None
    head_sha: str | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_platform(platform: Platform, settings: Settings) -> PlatformClient:
    """The platform client the settings describe (raises ConfigError when it is not set up)."""
    settings.require_platform(platform)
    if platform is Platform.GITHUB:
        from reviewbot.platforms.github import GitHubPlatform

        key = settings.github_private_key_pem()
        logs.register_secret(key)
        assert settings.github_app_id is not None  # require_platform checked it
        return GitHubPlatform(
            app_id=settings.github_app_id, private_key=key, api_url=settings.github_api_url
        )
    from reviewbot.platforms.hub import HubPlatform

    assert settings.hf_token is not None  # require_platform checked it
    token = settings.hf_token.get_secret_value()
    logs.register_secret(token)
    return HubPlatform(
        endpoint=settings.hf_endpoint, token=token, watched=settings.reviewbot_watched_models
    )


def review_contribution(
    ref: ContributionRef,
    *,
    reason: str = "review",
    requested_by: str | None = None,
    platform: PlatformClient | None = None,
    settings: Settings | None = None,
    inputs: ReviewInputs | None = None,
) -> Outcome:
    """Review ``ref`` and post (or edit) its verdict; see the module docstring for the rules.

    ``requested_by`` (a GitHub login, a Hub user id) is checked only for a ``recheck``; None
    means an operator (the CLI) or the platform's own re-run button, which needs write access.
    ``settings`` also say which Hub the base models' cards come from (``HF_ENDPOINT``,
    ``HF_TOKEN``); without them a Hub platform's own endpoint and token serve. ``inputs``, when
    given, replace what the settings say about caches and transfer bounds (benchmarks use it).
    """
    if reason not in ("review", "recheck"):
        raise ValueError(f"unknown reason {reason!r}")
    if platform is None:
        settings = settings or _load_settings()
        platform = make_platform(ref.platform, settings)
    with logs.bind(review=ref.display, reason=reason):
        outcome = _review(
            ref,
            platform,
            reason=reason,
            requested_by=requested_by,
            inputs=inputs or ReviewInputs.of(settings, platform),
        )
    verdict = outcome.verdict if outcome.status in ("posted", "error") else "skipped"
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
    locks: PublishLocks | None = None,
    started: StartedRuns | None = None,
) -> Outcome:
    """Post an "error" verdict (a review that timed out, say) unless the head moved on or a
    verdict for this head is already out (another job for it succeeded meanwhile)."""
    client = platform or _platform_for(ref, settings)
    locks = locks or publish_locks(settings)
    head = client.head_sha(ref)
    if ref.head_sha and ref.head_sha != head:
        return _superseded(ref, client, locks, ref.head_sha, head, started_runs(settings))
    ref = replace(ref, head_sha=head)
    if client.published(ref, head):
        return Outcome("unchanged", ref.key, head_sha=head, detail="a verdict is already posted")
    publication = _error_publication(ref, head, message)
    stale = _write(ref, client, locks, head, publication, started or started_runs(settings))
    if stale is not None:
        return stale
    metrics.REVIEWS.labels(platform=ref.platform.value, verdict="error").inc()
    log.warning("review error posted: %s", message, extra={"key": ref.key})
    return Outcome("error", ref.key, verdict="error", head_sha=head, detail=message)


def post_error_safely(
    ref: ContributionRef,
    message: str,
    *,
    platform: PlatformClient | None = None,
    settings: Settings | None = None,
    locks: PublishLocks | None = None,
    started: StartedRuns | None = None,
) -> Outcome | None:
    """``post_error`` for a review that finally failed: best effort, never raises.

    The platform may well be failing still; then the failure is logged and None returned.
    """
    try:
        return post_error(
            ref, message, platform=platform, settings=settings, locks=locks, started=started
        )
    except Exception:
        log.exception("could not post the error verdict", extra={"key": ref.key})
        return None


def _load_settings() -> Settings:
    from reviewbot.config import load_settings

    return load_settings()


def _platform_for(ref: ContributionRef, settings: Settings | None) -> PlatformClient:
    return make_platform(ref.platform, settings or _load_settings())


def hub_access(settings: Settings | None, platform: PlatformClient | None = None) -> HubAccess:
    """Where base models' cards come from: the configured Hub, with its token when one is set.

    A gated or on-premises base model is only readable there; without settings a Hub
    platform's own endpoint and token serve, and otherwise the public Hub, anonymously.
    """
    if settings is not None:
        token = settings.hf_token.get_secret_value() if settings.hf_token is not None else None
        return HubAccess(settings.hf_endpoint, token)
    from reviewbot.platforms.hub import HubPlatform

    if isinstance(platform, HubPlatform):
        return HubAccess(platform.endpoint, platform.token)
    return HubAccess()


@dataclass(frozen=True)
class ReviewInputs:
    """What shapes a review besides the contribution: where base cards come from, the caches,
    and the transfer bounds. Everything but the caches is part of a cached review's key."""

    hub: HubAccess
    result_cache: ResultCache | None = None
    review_cache: ReviewCache | None = None
    remote_min_bytes: int | None = DEFAULT_REMOTE_MIN_BYTES
    max_stream_bytes: int | None = DEFAULT_MAX_STREAM_BYTES
    locks: PublishLocks = field(default_factory=lambda: PROCESS_LOCKS)
    started: StartedRuns = field(default_factory=NoStartedRuns)

    @classmethod
    def of(cls, settings: Settings | None, platform: PlatformClient | None = None) -> ReviewInputs:
        if settings is None:
            return cls(hub_access(None, platform), review_cache=_memory_review_cache())
        return cls(
            hub=hub_access(settings, platform),
            result_cache=result_cache(settings),
            review_cache=review_cache(settings),
            remote_min_bytes=settings.reviewbot_remote_min_bytes,
            max_stream_bytes=settings.reviewbot_evals_max_stream_bytes,
            locks=publish_locks(settings),
            started=started_runs(settings),
        )

    def key_parts(self) -> tuple[object, ...]:
        return (self.hub.endpoint, self.remote_min_bytes, self.max_stream_bytes)


def publish_locks(settings: Settings | None) -> PublishLocks:
    """The per-contribution write locks: in the settings' Redis, or in this process."""
    if settings is None or not settings.redis_url:
        return PROCESS_LOCKS
    return _redis_locks(settings.redis_url)


@functools.lru_cache(maxsize=4)
def _redis_locks(redis_url: str) -> PublishLocks:
    from reviewbot.publish_lock import RedisLocks

    return RedisLocks(redis_url)


def started_runs(settings: Settings | None) -> StartedRuns:
    """Where opened check runs are recorded for the sweeper: the settings' Redis, or nowhere."""
    if settings is None or not settings.redis_url:
        return NoStartedRuns()
    return _redis_started_runs(settings.redis_url)


@functools.lru_cache(maxsize=4)
def _redis_started_runs(redis_url: str) -> StartedRuns:
    from reviewbot.started_runs import RedisStartedRuns

    return RedisStartedRuns(redis_url)


def review_cache(settings: Settings | None) -> ReviewCache:
    """Whole reviews in the settings' Redis, or in this process when there is none."""
    if settings is None or not settings.redis_url:
        return _memory_review_cache()
    return _redis_review_cache(settings.redis_url)


@functools.lru_cache(maxsize=1)
def _memory_review_cache() -> ReviewCache:
    from reviewbot.review_cache import MemoryReviewCache

    return MemoryReviewCache()


@functools.lru_cache(maxsize=4)
def _redis_review_cache(redis_url: str) -> ReviewCache:
    from reviewbot.review_cache import RedisReviewCache

    return RedisReviewCache(redis_url)


def result_cache(settings: Settings | None) -> ResultCache | None:
    """The per-file result cache in the settings' Redis (one per process), or None without one."""
    if settings is None or not settings.redis_url:
        return None
    return _redis_result_cache(settings.redis_url)


@functools.lru_cache(maxsize=4)
def _redis_result_cache(redis_url: str) -> ResultCache:
    from reviewbot.result_cache import RedisResultCache

    return RedisResultCache(redis_url)


def _review(
    ref: ContributionRef,
    client: PlatformClient,
    *,
    reason: str,
    requested_by: str | None,
    inputs: ReviewInputs,
) -> Outcome:
    if (
        reason == "recheck"
        and requested_by is not None
        and not client.may_recheck(ref, requested_by)
    ):
        return Outcome("refused", ref.key, detail="re-check asked by a non-collaborator")
    skip = client.skip_reason(ref)
    if skip is not None:
        return Outcome("skipped", ref.key, detail=skip)
    if reason == "review" and ref.kind is Kind.NEW_MODEL and _has_verdict(client, ref):
        # pushes go on after a fine-tune is uploaded; its verdict is given once (a re-check
        # from the CLI reviews it again)
        return Outcome("skipped", ref.key, detail="a new model is reviewed once")
    head = client.head_sha(ref)
    if ref.head_sha and ref.head_sha != head:
        return _superseded(ref, client, inputs.locks, ref.head_sha, head, inputs.started)
    ref = replace(ref, head_sha=head)
    # "Already done" only when the whole verdict is out: a job that died between the comment
    # and completing its check run must finish the run when its message comes back.
    if reason == "review" and client.published(ref, head):
        return Outcome("unchanged", ref.key, head_sha=head, detail="verdict already posted")

    locks, started = inputs.locks, inputs.started
    stale = _write(ref, client, locks, head, None, started)
    if stale is not None:
        return stale
    began = time.monotonic()
    try:
        report, listing = _fetch_and_review(ref, client, head, inputs)
    except PermanentError as exc:
        stale = _write(ref, client, locks, head, _error_publication(ref, head, str(exc)), started)
        return stale or Outcome("error", ref.key, verdict="error", head_sha=head, detail=str(exc))

    _observe(ref, report)
    publication = build_publication(ref, report, listing, head)
    try:
        stale = _write(ref, client, locks, head, publication, started)
    except PermanentError as exc:
        # The verdict was refused (a body too long, a permission lost): say so in its place,
        # or the check run opened by ``begin`` would stay in progress forever.
        message = f"the verdict could not be posted: {exc}"
        log.warning("publish refused: %s", exc, extra={"key": ref.key})
        return post_error_safely(
            ref, message, platform=client, locks=locks, started=started
        ) or Outcome("error", ref.key, verdict="error", head_sha=head, detail=message)
    if stale is not None:
        return stale
    return Outcome(
        "posted",
        ref.key,
        verdict=publication.verdict,
        head_sha=head,
        detail=f"{len(report.files)} files in {time.monotonic() - began:.1f}s",
    )


def _has_verdict(client: PlatformClient, ref: ContributionRef) -> bool:
    """A verdict is out; an "error" one (the review could not be done) does not count."""
    posted = client.find_verdict(ref)
    return posted is not None and ERROR_HEADLINE not in posted[:400]


def _superseded(
    ref: ContributionRef,
    client: PlatformClient,
    locks: PublishLocks,
    old: str,
    head: str,
    started: StartedRuns | None = None,
) -> Outcome:
    """A job for a commit that is no longer the head: close any run an earlier attempt of it
    opened (a retry after a rate limit, say), so no check run is left in progress."""
    stale = replace(ref, head_sha=old)
    with locks.hold(ref):
        client.cancel(stale, old)
    (started or NoStartedRuns()).finished(stale)
    return Outcome("superseded", ref.key, head_sha=old, detail=f"head is now {head}")


WRITE_ATTEMPTS = 4  # in this job, before a transient failure becomes the task's retry


def _write(
    ref: ContributionRef,
    client: PlatformClient,
    locks: PublishLocks,
    head: str,
    publication: Publication | None,
    started: StartedRuns | None = None,
) -> Outcome | None:
    """Open the check run (``publication`` None) or post the verdict, for ``head`` only.

    Under the contribution's lock, with the head read again first: a verdict for a commit that
    is no longer the head is never written, and the run opened for it is cancelled. Returns the
    "superseded" outcome in that case, None once written. ``started`` records the opened run
    until it is closed (``reviewbot.started_runs``).
    """
    started = started or NoStartedRuns()
    for attempt in range(WRITE_ATTEMPTS):
        try:
            with locks.hold(ref):
                current = client.head_sha(ref)
                if current != head:
                    client.cancel(ref, head)
                    started.finished(ref)
                    return Outcome(
                        "superseded", ref.key, head_sha=head, detail=f"head is now {current}"
                    )
                if publication is None:
                    client.begin(ref, head)
                    started.started(ref)
                else:
                    client.publish(ref, publication)
                    started.finished(ref)
                return None
        except TransientError as exc:
            wait = exc.retry_after if exc.retry_after is not None else retry_policy.backoff(attempt)
            if attempt + 1 >= WRITE_ATTEMPTS or wait > retry_policy.IN_PROCESS_WAIT:
                raise
            log.info("write failed (%s); again in %.1f s", exc, wait, extra={"key": ref.key})
            time.sleep(wait)
    raise AssertionError("unreachable: the last attempt raises")


def _fetch_and_review(
    ref: ContributionRef, client: PlatformClient, head: str, inputs: ReviewInputs | None = None
) -> tuple[Report, FileListing]:
    inputs = inputs or ReviewInputs(hub_access(None, client))
    listing = client.list_changed_files(ref, head)
    base = client.base_revision(ref)
    key = review_key(ref.platform.value, ref.kind.value, ref.repo, head, base, *inputs.key_parts())
    cache = inputs.review_cache
    report = cache.get(key) if cache is not None else None
    if report is not None:
        _mark_reused(report)
    else:
        report = _review_files(ref, client, head, base, listing, inputs)
        if cache is not None and storable(report):
            cache.put(key, report)
    # The platform's own scan can change between reviews: always today's, never cached.
    scans = {f.path: f.platform_scan for f in listing.files if f.platform_scan}
    for file in report.files:
        file.platform_scan = scans.get(file.path)
    return report, listing


def _observe(ref: ContributionRef, report: Report) -> None:
    platform = ref.platform.value
    metrics.FILE_BYTES_READ.labels(platform=platform).inc(report.bytes_read)
    metrics.CACHED_FILES.labels(platform=platform).inc(sum(f.cached for f in report.files))
    if any(c.name == REUSED for c in report.checks):
        metrics.REVIEWS_REUSED.labels(platform=platform).inc()


def _mark_reused(report: Report) -> None:
    for file in report.files:
        file.bytes_read, file.cached, file.full_download = 0, True, False
    report.checks.append(
        CheckSummary(
            REUSED,
            "earlier review",
            [
                "these commits were reviewed before with the same policy and reviewbot version: "
                "that review's findings are reused and no file was read again"
            ],
        )
    )


def _review_files(
    ref: ContributionRef,
    client: PlatformClient,
    head: str,
    base: str | None,
    listing: FileListing,
    inputs: ReviewInputs,
) -> Report:
    wanted = [f for f in listing.files if f.status != "removed"]
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="reviewbot-") as tmp:
        policy, policy_findings = _base_policy(ref, client, base, Path(tmp) / "base", notes)
        # the contribution's files keep their repository paths inside this folder
        workdir = Path(tmp) / "contribution"
        workdir.mkdir()
        fetched = client.download(
            ref, head, wanted, workdir, remote_min_bytes=inputs.remote_min_bytes
        )
        known = dict(fetched.sha256)
        if fetched.remote:
            notes.append(
                f"{len(fetched.remote)} large files read through range requests, not downloaded"
            )
        # Unchanged context files at the head too: the card, licence texts and ignore rules say
        # what the changed files are under, and the review is of the repository as merged.
        context = client.fetch_paths(ref, head, CONTEXT_FILES, workdir, max_bytes=CONTEXT_MAX_BYTES)
        known.update(context.sha256)
        if context.paths:
            notes.append(f"unchanged files read at the head: {', '.join(context.paths)}")
        notes.extend(f"{path}: not fetched, {why}" for path, why in context.skipped.items())
        report = review_folder(
            workdir,
            policy=policy,
            known_sha256=known,
            model_id=ref.repo if ref.platform is Platform.HF else None,
            hub=inputs.hub,
            result_cache=inputs.result_cache,
            remote=fetched.remote,
            max_stream_bytes=inputs.max_stream_bytes,
        )
    report.findings.extend(policy_findings)
    report.checks.append(CheckSummary("context", "repository context", notes))
    if listing.truncated:
        shown = len(listing.files)
        report.findings.append(
            Finding(
                check="platform",
                rule="files-not-listed",
                severity=Severity.MEDIUM,
                path="(pull request)",
                message=(
                    f"GitHub lists at most {shown:,} changed files; this pull request changes "
                    f"{listing.total:,}, so {(listing.total or shown) - shown:,} were not "
                    "reviewed. Split it, or review it locally with `reviewbot review`."
                ),
            )
        )
    return report


def _base_policy(
    ref: ContributionRef, client: PlatformClient, base: str | None, folder: Path, notes: list[str]
) -> tuple[Policy, list[Finding]]:
    """The policy file as on the branch the contribution merges into, never the contribution's.

    A contributor who could relax the policy in their own pull request could wave their own
    findings through; the licence check flags such an edit (``policy-changed``) for a human.
    """
    if base is None:
        notes.append(f"no target branch: the default policy applies, not any {POLICY_FILE}")
        return Policy(), []
    folder.mkdir()
    fetched = client.fetch_paths(ref, base, [POLICY_FILE], folder, max_bytes=CONTEXT_MAX_BYTES)
    for path, why in fetched.skipped.items():
        notes.append(f"{path} on the target branch: not read, {why}; the default policy applies")
    if not fetched.paths:
        if not fetched.skipped:
            notes.append(f"no {POLICY_FILE} on the target branch: the default policy applies")
        return Policy(), []
    notes.append(f"policy: {POLICY_FILE} from the target branch ({base[:40]})")
    return load_policy(folder)


def subject_of(ref: ContributionRef) -> str:
    if ref.kind is Kind.NEW_MODEL:
        return f"the new model {ref.repo}"
    if ref.platform is Platform.HF:
        return f"{ref.repo} pull request #{ref.number}"
    return f"{ref.repo}#{ref.number}"


_LEVELS: dict[Severity, AnnotationLevel] = {
    Severity.CRITICAL: "failure",
    Severity.HIGH: "failure",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
}


def build_publication(
    ref: ContributionRef, report: Report, listing: FileListing, head: str
) -> Publication:
    """The sticky comment, the check-run title and summary, one annotation per finding."""
    body = render_markdown(report, subject=subject_of(ref), head_sha=head)
    listed = {f.path for f in listing.files}
    annotations = [
        Annotation(
            path=f.path,
            level=_LEVELS[f.severity],
            title=f"{f.check}/{f.rule} ({f.severity.label})",
            message=f.message + (f" [{f.location}]" if f.location else ""),
        )
        for f in report.sorted_findings()
        if f.severity > Severity.INFO and f.path in listed  # annotations must name a repo file
    ]
    counts = f"{len(report.findings)} findings in {len(report.files)} files"
    return Publication(
        head_sha=head,
        verdict=report.verdict.value,
        body=with_sha_marker(body, head),
        title=f"reviewbot: {report.verdict.value} ({counts})",
        summary=body,
        annotations=annotations,
    )


def _error_publication(ref: ContributionRef, head: str, message: str) -> Publication:
    body = (
        f"{MARKER}\n❔ {ERROR_HEADLINE} — the review of {md(subject_of(ref))} at "
        f"`{head[:12]}` could not be completed: {md(message)}\n\n"
        "<sub>Nothing was merged or changed. Comment `/reviewbot recheck` to try again.</sub>\n"
    )
    return Publication(
        head_sha=head,
        verdict="error",
        body=with_sha_marker(body, head),
        title="reviewbot: the review could not be completed",
        summary=body,
    )


def evaluate_contribution(ref: ContributionRef, *, reason: str = "review") -> Outcome:
    """Tier-2 evals (the ``evals`` queue): a placeholder until ``checks/evals`` provides them.

    What it will need: an entry point in ``checks.evals`` taking a Contribution (the downloaded
    folder plus the base model's snapshot from ``reviewbot.base_model.download_base``) and
    returning a CheckResult; this function then fetches like ``review_contribution``, merges
    that result into the report and edits the same sticky comment. Until then it posts nothing.
    """
    _ = reason
    return Outcome("skipped", ref.key, head_sha=ref.head_sha, detail="tier-2 evals not wired yet")
