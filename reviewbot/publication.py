"""What a review posts: the sticky comment, the check run's title, summary and annotations."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from checks.findings import Finding, Severity
from checks.fixes import fixes_of
from checks.report import Report
from reviewbot.markers import MARKER, with_sha_marker
from reviewbot.models import ContributionRef, Kind, Platform
from reviewbot.platforms.base import Annotation, AnnotationLevel, FileListing, Publication
from reviewbot.render.escape import md
from reviewbot.render.markdown import render_markdown
from reviewbot.render.suggestions import hub_fix_section

ERROR_HEADLINE = "**reviewbot: error**"


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
    fixes = tuple(fixes_of(report.findings))
    if fixes and ref.platform is Platform.HF and ref.kind is Kind.PULL_REQUEST:
        body += hub_fix_section(fixes)  # no reviews on the Hub: the exact text, and the command
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
    verdict = report.verdict.value
    return Publication(
        head_sha=head,
        verdict=verdict,
        fingerprint=fingerprint(verdict, report.findings),
        body=with_sha_marker(body, head, fingerprint(verdict, report.findings)),
        title=f"reviewbot: {report.verdict.value} ({counts})",
        summary=body,
        annotations=annotations,
        fixes=fixes,
    )


def error_publication(ref: ContributionRef, head: str, message: str) -> Publication:
    body = (
        f"{MARKER}\n❔ {ERROR_HEADLINE} — the review of {md(subject_of(ref))} at "
        f"`{head[:12]}` could not be completed: {md(message)}\n\n"
        "<sub>Nothing was merged or changed. Comment `/reviewbot recheck` to try again.</sub>\n"
    )
    return Publication(
        head_sha=head,
        verdict="error",
        fingerprint=fingerprint("error", [], message),
        body=with_sha_marker(body, head, fingerprint("error", [], message)),
        title="reviewbot: the review could not be completed",
        summary=body,
    )


def fingerprint(verdict: str, findings: Iterable[Finding], *extra: str) -> str:
    """A digest of what a verdict says: the verdict and the set of findings, nothing that
    changes between identical reviews (the commit, timings, bytes read)."""
    items = sorted(
        {(f.check, f.rule, f.severity.label, f.path, f.message, f.location or "") for f in findings}
    )
    material = json.dumps([verdict, items, list(extra)], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()[:24]
