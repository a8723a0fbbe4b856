"""The verdict comment, exactly as it is posted on a pull request or a Hub discussion."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from checks.findings import Finding, Severity, Verdict
from checks.report import FileReport, Report
from reviewbot import __version__
from reviewbot.markers import MARKER  # the bot finds its own comment by it
from reviewbot.render.escape import code, md
from reviewbot.render.visible import visible

MAX_ROWS = 60  # a GitHub comment holds 65,536 characters; keep well inside it

_HEADLINE = {
    Verdict.PASS: "✅ **reviewbot: pass** — nothing here stops a merge.",
    Verdict.WARN: "⚠️ **reviewbot: warn** — mergeable, but a maintainer should read the findings.",
    Verdict.FAIL: "❌ **reviewbot: fail** — do not merge until the findings below are fixed.",
}
_ICON = {
    Severity.CRITICAL: "🛑",
    Severity.HIGH: "🔴",
    Severity.MEDIUM: "🟠",
    Severity.LOW: "🔵",
    Severity.INFO: "⚪",
}


def render_markdown(
    report: Report,
    *,
    subject: str | None = None,
    head_sha: str | None = None,
    extra: Sequence[str] = (),
) -> str:
    """The comment; ``extra`` lines (already Markdown) go after the sections, before the
    footer: the accepted findings, say."""
    lines = [MARKER, _HEADLINE[report.verdict], ""]
    if subject or head_sha:
        at = f" at {code(head_sha[:12])}" if head_sha else ""
        lines += [f"Reviewed {md(subject or 'this contribution')}{at}.", ""]
    lines += [_counts(report), ""]
    lines += _findings_table(report.sorted_findings())
    lines += _files_section(report)
    lines += _checks_section(report)
    lines += [*extra, ""] if extra else []
    lines.append(
        f"<sub>reviewbot {__version__} · weight files are read as bytes: nothing was unpickled, "
        "imported or run · comment `/reviewbot recheck` to review again</sub>"
    )
    return visible("\n".join(lines) + "\n")


def _counts(report: Report) -> str:
    by_severity = Counter(f.severity for f in report.findings)
    parts = [f"{by_severity[s]} {s.label}" for s in sorted(by_severity, reverse=True)]
    noun = "file" if len(report.files) == 1 else "files"
    if not parts:
        return f"No findings in {len(report.files)} {noun}."
    return f"**Findings:** {', '.join(parts)} · {len(report.files)} {noun} reviewed."


def _findings_table(findings: list[Finding]) -> list[str]:
    shown = [f for f in findings if f.severity > Severity.INFO] or []
    if not shown:
        return []
    lines = ["| | Severity | File | Finding |", "|---|---|---|---|"]
    for finding in shown[:MAX_ROWS]:
        where = code(finding.path)
        if finding.location:
            where += f" <br><sub>{md(finding.location, 120)}</sub>"
        lines.append(
            f"| {_ICON[finding.severity]} | {finding.severity.label} | {where} | "
            f"{md(finding.message)} <sub>{code(finding.check + '/' + finding.rule)}</sub> |"
        )
    if len(shown) > MAX_ROWS:
        lines.append(f"\n…and {len(shown) - MAX_ROWS} more; run `reviewbot review` for all.")
    return [*lines, ""]


def _files_section(report: Report) -> list[str]:
    if not report.files:
        return []
    # The platform's own scan gets a column only where it gave one (the Hub does).
    platform = any(f.platform_scan for f in report.files)
    head = "| File | Format | Verdict | Read |" + (" Hub scan |" if platform else "")
    lines = [
        f"<details><summary>Files ({len(report.files)}; {_read_summary(report)})</summary>",
        "",
        head,
        "|---|---|---|---|" + ("---|" if platform else ""),
    ]
    for file in report.files[: MAX_ROWS * 4]:
        row = f"| {code(file.path)} | {md(file.format)} | {file.verdict.value} | {_read(file)} |"
        if platform:
            row += f" {md(file.platform_scan or '')} |"
        lines.append(row)
    if len(report.files) > MAX_ROWS * 4:
        lines.append(f"| …{len(report.files) - MAX_ROWS * 4} more | | | |")
    return [*lines, "", "</details>", ""]


def _read(file: FileReport) -> str:
    if file.cached:
        return "cached"
    return human_bytes(file.bytes_read) + (" (whole file)" if file.full_download else "")


def _read_summary(report: Report) -> str:
    cached = sum(1 for f in report.files if f.cached)
    text = f"{human_bytes(report.bytes_read)} read"
    return text + (f", {cached} from earlier reviews" if cached else "")


def human_bytes(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    size = n / 1000
    for unit in ("KB", "MB"):
        if size < 1000:
            return f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def _checks_section(report: Report) -> list[str]:
    if not report.checks:
        return []
    lines = ["<details><summary>What ran</summary>", ""]
    for check in report.checks:
        notes = "; ".join(md(n, 400) for n in check.notes)
        lines.append(f"- **{md(check.title)}**" + (f": {notes}" if notes else ""))
    return [*lines, "", "</details>", ""]
