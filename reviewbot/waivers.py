"""Accepted findings: the ``/reviewbot accept`` command, waivers tied to a file's content, and
the report they leave (pure: no I/O).

A waiver names a rule, a path and that file's content as reviewed (its git blob sha where the
platform lists one, else its sha256), so a later push that changes the file raises the finding
again. Critical findings (code that runs on load) are never
waived here: only an allowed import in the target branch's policy file lets them pass.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from checks.findings import Finding, Severity, Verdict
from checks.report import FileReport, Report

ACCEPT_COMMAND = "/reviewbot accept"
# What the Check Run's Accept button stands for: every non-critical finding it was shown for.
EVERY_RULE = "*"
ACTION_IDENTIFIER = "reviewbot-accept"  # GitHub allows 20 characters
ACTION_LABEL = "Accept"  # 20 characters at most
ACTION_DESCRIPTION = "Accept the non-critical findings"  # 40 at most
ACTION_REASON = "accepted from the check run"
CRITICAL_NOTE = (
    "critical findings (code that runs on load) cannot be accepted by a comment: allow the "
    "import in the target branch's .reviewbot.toml"
)
REASON_MAX = 500  # a reason is a sentence, not a document
_COMMAND = re.compile(r"^(?P<rule>\S+)(?:\s+(?P<path>.+?))?\s+--\s+(?P<reason>\S.*)$")


@dataclass(frozen=True)
class AcceptCommand:
    """What a maintainer asked to accept: a rule (``rule`` or ``check/rule``; ``*`` for every
    non-critical finding), optionally one path, and why."""

    rule: str
    path: str | None
    reason: str

    def text(self) -> str:
        """The command's arguments as they travel to a worker (``parse_arguments`` reads them)."""
        where = f" {self.path}" if self.path else ""
        return f"{self.rule}{where} -- {self.reason}"

    def matches(self, finding: Finding) -> bool:
        if self.path is not None and finding.path != self.path:
            return False
        return self.rule in (EVERY_RULE, finding.rule, f"{finding.check}/{finding.rule}")


@dataclass(frozen=True)
class Waiver:
    """One accepted finding: who accepted which rule on which file content, when and why."""

    rule: str  # ``check/rule``
    path: str
    content: str  # the file's git blob sha (or sha256) when it was accepted
    accepted_by: str
    accepted_at: datetime
    reason: str


@dataclass(frozen=True)
class Accepted:
    """A finding a waiver lets pass, kept to be shown beside the verdict."""

    finding: Finding
    waiver: Waiver


@dataclass(frozen=True)
class Waived:
    """The report without its accepted findings, and those findings with their waivers."""

    report: Report
    accepted: tuple[Accepted, ...] = ()


@dataclass(frozen=True)
class Resolution:
    """What an accept command does to one report: new waivers, and the critical findings it
    named that a comment cannot accept."""

    waivers: tuple[Waiver, ...] = ()
    critical: tuple[Finding, ...] = ()


class WaiverStoreError(Exception):
    """The waivers could not be read or written (the database is down, say)."""


class WaiverStore(Protocol):
    """Where waivers are kept: the history database (``reviewbot.history.waivers``), or this
    process's memory when there is none."""

    def add(self, platform: str, repo: str, number: int, waivers: Sequence[Waiver]) -> int:
        """Record ``waivers`` (an exact one already there is kept as first recorded: a retried
        job adds nothing); returns how many were new. Raises ``WaiverStoreError``."""
        ...

    def of(self, platform: str, repo: str, number: int) -> list[Waiver]:
        """Every waiver recorded on one contribution, oldest first. Raises
        ``WaiverStoreError``."""
        ...


class MemoryWaivers:
    """Waivers in this process (no history database configured): lost on restart."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, int], dict[tuple[str, str, str], Waiver]] = {}
        self._lock = threading.Lock()

    def add(self, platform: str, repo: str, number: int, waivers: Sequence[Waiver]) -> int:
        with self._lock:
            known = self._rows.setdefault((platform, repo, number), {})
            new = 0
            for waiver in waivers:
                key = (waiver.rule, waiver.path, waiver.content)
                if key not in known:
                    known[key], new = waiver, new + 1
            return new

    def of(self, platform: str, repo: str, number: int) -> list[Waiver]:
        with self._lock:
            return list(self._rows.get((platform, repo, number), {}).values())


def is_accept_command(body: str | None, command: str = ACCEPT_COMMAND) -> bool:
    """The first non-empty line starts with the command (any case), arguments or not."""
    first = _first_line(body)
    folded, prefix = first.casefold(), command.casefold()
    return folded == prefix or folded.startswith(prefix + " ")


def parse_accept(body: str | None, command: str = ACCEPT_COMMAND) -> AcceptCommand | None:
    """``/reviewbot accept RULE [PATH] -- reason`` on the first non-empty line, or None when
    that line is not a well-formed accept command (a reason is required: it is the record)."""
    if not is_accept_command(body, command):
        return None
    return parse_arguments(_first_line(body)[len(command) :])


def parse_arguments(text: str) -> AcceptCommand | None:
    """``RULE [PATH] -- reason``; None when malformed."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    reason = " ".join(match["reason"].split())[:REASON_MAX]
    path = match["path"].strip() if match["path"] else None
    return AcceptCommand(match["rule"], path or None, reason)


def acceptable(report: Report) -> list[Finding]:
    """The findings an Accept button may let pass: non-critical ones that move the verdict."""
    return [f for f in report.findings if Severity.MEDIUM <= f.severity < Severity.CRITICAL]


def content_hashes(report: Report, blobs: Mapping[str, str]) -> dict[str, str]:
    """Each reviewed file's content id: the platform's git blob sha (``blobs``), else the
    sha256 the review knows."""
    known = {f.path: f.sha256 for f in report.files if f.sha256}
    return {**known, **blobs}


def resolve(
    command: AcceptCommand,
    report: Report,
    hashes: Mapping[str, str],
    *,
    by: str,
    at: datetime,
) -> Resolution:
    """The waivers ``command`` makes on ``report``: one per matching non-critical finding whose
    file content is known (a finding on no file, such as the pull request, has no content to tie
    the waiver to, so it cannot be accepted). ``hashes``: ``content_hashes``."""
    waivers: dict[tuple[str, str], Waiver] = {}
    critical: list[Finding] = []
    for finding in report.findings:
        if not command.matches(finding) or finding.severity <= Severity.INFO:
            continue
        if finding.severity >= Severity.CRITICAL:
            if command.rule != EVERY_RULE:  # the button is for the others: not a refusal
                critical.append(finding)
            continue
        sha = hashes.get(finding.path)
        if sha is None or (command.rule == EVERY_RULE and finding.severity < Severity.MEDIUM):
            continue
        rule = f"{finding.check}/{finding.rule}"
        waivers[(rule, finding.path)] = Waiver(rule, finding.path, sha, by, at, command.reason)
    return Resolution(tuple(waivers.values()), tuple(critical))


def apply_waivers(report: Report, hashes: Mapping[str, str], waivers: Iterable[Waiver]) -> Waived:
    """``report`` without the findings a waiver covers for the file content reviewed now
    (``hashes``: ``content_hashes``); a critical finding stays whatever a waiver says."""
    by_key: dict[tuple[str, str, str], Waiver] = {}
    for waiver in waivers:
        by_key.setdefault((waiver.rule, waiver.path, waiver.content), waiver)
    if not by_key:
        return Waived(report)
    kept: list[Finding] = []
    accepted: list[Accepted] = []
    for finding in report.findings:
        sha = hashes.get(finding.path)
        found = by_key.get((f"{finding.check}/{finding.rule}", finding.path, sha or ""))
        if found is None or sha is None or finding.severity >= Severity.CRITICAL:
            kept.append(finding)
        else:
            accepted.append(Accepted(finding, found))
    if not accepted:
        return Waived(report)
    return Waived(_without(report, kept), tuple(accepted))


def accepted_lines(accepted: Sequence[Accepted]) -> list[str]:
    """One line per accepted finding, as plain text (the caller escapes it for Markdown)."""
    return [
        f"{a.waiver.rule} on {a.finding.path} ({a.finding.severity.label}): accepted by "
        f"{a.waiver.accepted_by}: {a.waiver.reason}"
        for a in accepted
    ]


def _without(report: Report, kept: list[Finding]) -> Report:
    severities: dict[str, list[Severity]] = {}
    for finding in kept:
        severities.setdefault(finding.path, []).append(finding.severity)
    files = [
        FileReport(
            path=f.path, format=f.format, sha256=f.sha256,
            verdict=Verdict.of(severities.get(f.path, [])), bytes_read=f.bytes_read,
            full_download=f.full_download, cached=f.cached, platform_scan=f.platform_scan,
        )
        for f in report.files
    ]  # fmt: skip
    return Report(findings=kept, files=files, checks=list(report.checks))


def _first_line(body: str | None) -> str:
    for line in (body or "").splitlines():
        if line.strip():
            return line.strip()
    return ""
