"""Fetch a contribution's changed files (and the context they need) and run the checks on them."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from checks.findings import Finding, Severity
from checks.licence.card import Card, read_card
from checks.policy import NOTIFY_MODES, Policy
from checks.policy_file import POLICY_FILE, load_policy
from checks.report import CheckSummary, Report
from checks.weights.symlinks import link_finding
from reviewbot import metrics
from reviewbot.composition import ReviewInputs, hub_access
from reviewbot.models import ContributionRef, Platform
from reviewbot.review import review_folder
from reviewbot.review_cache import review_key, storable

if TYPE_CHECKING:
    from reviewbot.platforms.base import FileListing, PlatformClient

# Files the checks read that a contribution seldom changes (card, licence texts, REUSE.toml,
# ignore rules, configs): top-level names, shell patterns matched in any case.
CONTEXT_FILES = (
    "README.md", "LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "LICENCE.md", "LICENCE.txt",
    "COPYING", "NOTICE*", "REUSE.toml", ".gitignore", "config.json", "tokenizer_config.json",
)  # fmt: skip
CONTEXT_MAX_BYTES = 1 << 20  # a card or licence text is kilobytes; more is not context
REUSED = "reuse"  # the check summary a reused review carries


@dataclass(frozen=True)
class Reviewed:
    """A review's report, the listing it reviewed, and the target branch's policy."""

    report: Report
    listing: FileListing
    notify: str = NOTIFY_MODES[0]
    policy: Policy = field(default_factory=Policy)
    # The model card at the head, when this review read the files (not when it reused one).
    card: Card | None = None


def fetch_and_review(
    ref: ContributionRef, client: PlatformClient, head: str, inputs: ReviewInputs | None = None
) -> tuple[Report, FileListing]:
    reviewed = fetch_review(ref, client, head, inputs)
    return reviewed.report, reviewed.listing


def fetch_review(
    ref: ContributionRef, client: PlatformClient, head: str, inputs: ReviewInputs | None = None
) -> Reviewed:
    inputs = inputs or ReviewInputs(hub_access(None, client))
    listing = client.list_changed_files(ref, head)
    base = client.base_revision(ref)
    key = review_key(ref.platform.value, ref.kind.value, ref.repo, head, base, *inputs.key_parts())
    cache = inputs.review_cache
    report = cache.get(key) if cache is not None else None
    card = None
    if report is not None:
        _mark_reused(report)
        # only the policy file is read again: the cache keeps reports, not how to publish them
        with tempfile.TemporaryDirectory(prefix="reviewbot-") as tmp:
            policy, _ = _base_policy(ref, client, base, Path(tmp) / "base", [])
    else:
        report, policy, card = _review_files(ref, client, head, base, listing, inputs)
        if cache is not None and storable(report):
            cache.put(key, report)
    # The platform's own scan can change between reviews: always today's, never cached.
    scans = {f.path: f.platform_scan for f in listing.files if f.platform_scan}
    for file in report.files:
        file.platform_scan = scans.get(file.path)
    return Reviewed(report, listing, policy.notify_comment, policy, card)


def observe(ref: ContributionRef, report: Report) -> None:
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
) -> tuple[Report, Policy, Card | None]:
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
        card = read_card(workdir)  # for the history: what the contribution declares
    report.findings.extend(
        link_finding(path, target, path) for path, target in sorted(fetched.links.items())
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
    return report, policy, card


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
