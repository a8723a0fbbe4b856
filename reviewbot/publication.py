"""What a review posts: the sticky comment, the check run's title, summary and annotations."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence

from checks.findings import Finding, Severity
from checks.fixes import fixes_of
from checks.report import Report
from reviewbot.markers import MARKER, with_sha_marker
from reviewbot.models import ContributionRef, Kind, Platform
from reviewbot.platforms.base import (
    Annotation,
    AnnotationLevel,
    CheckAction,
    FileListing,
    Publication,
)
from reviewbot.render.escape import code, md
from reviewbot.render.markdown import render_markdown
from reviewbot.render.suggestions import hub_fix_section
from reviewbot.waivers import (
    ACTION_DESCRIPTION,
    ACTION_IDENTIFIER,
    ACTION_LABEL,
    Accepted,
    acceptable,
)

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
    ref: ContributionRef,
    report: Report,
    listing: FileListing,
    head: str,
    *,
    accepted: Sequence[Accepted] = (),
    notes: Sequence[str] = (),
) -> Publication:
    """The sticky comment, the check-run title and summary, one annotation per finding.

    ``report`` is what counts (accepted findings already taken out); ``accepted`` are shown
    with who accepted them and why, ``notes`` (plain text) below them. A check run with
    findings a maintainer may accept gets an Accept button.
    """
    extra = accepted_section(accepted, notes)
    body = render_markdown(report, subject=subject_of(ref), head_sha=head, extra=extra)
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
    said = fingerprint(verdict, report.findings, *extra)
    actions = (
        (CheckAction(ACTION_LABEL, ACTION_DESCRIPTION, ACTION_IDENTIFIER),)
        if ref.platform is Platform.GITHUB and acceptable(report)
        else ()
    )
    return Publication(
        head_sha=head,
        verdict=verdict,
        fingerprint=said,
        body=with_sha_marker(body, head, said),
        title=f"reviewbot: {report.verdict.value} ({counts})",
        summary=body,
        annotations=annotations,
        fixes=fixes,
        actions=actions,
    )


def accepted_section(accepted: Sequence[Accepted], notes: Sequence[str] = ()) -> list[str]:
    """Markdown lines: each accepted finding, "accepted by x: reason" (never an @-mention),
    then the notes."""
    lines: list[str] = []
    if accepted:
        lines += ["**Accepted by a maintainer** (not counted in the verdict):", ""]
        lines += [
            f"- {code(a.waiver.rule)} on {code(a.finding.path)} ({a.finding.severity.label}): "
            f"accepted by {md(a.waiver.accepted_by, 80)}: {md(a.waiver.reason)} "
            f"<sub>content {code(a.waiver.content[:12])}</sub>"
            for a in accepted
        ]
    if notes:
        lines += (
            ["", *(f"> {md(note, 400)}" for note in notes)]
            if lines
            else [f"> {md(note, 400)}" for note in notes]
        )
    return lines


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
