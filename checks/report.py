"""The report: every check's findings and file facts, and the verdict they add up to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checks.base import FileFacts
from checks.findings import Finding, Severity, Verdict


@dataclass
class FileReport:
    path: str
    format: str
    sha256: str | None
    verdict: Verdict
    bytes_read: int = 0
    full_download: bool = False
    cached: bool = False
    # The hosting platform's own scan of the file (the Hub's security status), for information.
    platform_scan: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "format": self.format,
            "sha256": self.sha256,
            "verdict": self.verdict.value,
            "bytes_read": self.bytes_read,
            "full_download": self.full_download,
        }
        if self.cached:  # only then: the entry's shape is unchanged for scanned files
            data["cached"] = True
        if self.platform_scan is not None:
            data["platform_scan"] = self.platform_scan
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileReport:
        return cls(
            path=str(data["path"]),
            format=str(data["format"]),
            sha256=data.get("sha256"),
            verdict=Verdict(data["verdict"]),
            bytes_read=int(data.get("bytes_read", 0)),
            full_download=bool(data.get("full_download", False)),
            cached=bool(data.get("cached", False)),
            platform_scan=data.get("platform_scan"),
        )


@dataclass
class CheckSummary:
    name: str
    title: str
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    findings: list[Finding]
    files: list[FileReport]
    checks: list[CheckSummary] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        return Verdict.of(f.severity for f in self.findings)

    @property
    def bytes_read(self) -> int:
        return sum(f.bytes_read for f in self.files)

    def sorted_findings(self) -> list[Finding]:
        """Worst first, then by path, so the reader meets what matters first."""
        return sorted(self.findings, key=lambda f: (-f.severity, f.path, f.rule, f.message))

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "findings": [f.to_dict() for f in self.sorted_findings()],
            "files": [f.to_dict() for f in self.files],
            "bytes_read": self.bytes_read,
            "checks": [{"name": c.name, "title": c.title, "notes": c.notes} for c in self.checks],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """The report ``to_dict`` wrote (the verdict and totals are recomputed, not read)."""
        return cls(
            findings=[Finding.from_dict(f) for f in data["findings"]],
            files=[FileReport.from_dict(f) for f in data["files"]],
            checks=[
                CheckSummary(str(c["name"]), str(c["title"]), [str(n) for n in c["notes"]])
                for c in data["checks"]
            ],
        )


def build_report(
    findings: list[Finding], facts: list[FileFacts], checks: list[CheckSummary]
) -> Report:
    """One FileReport per path: its sniffed format and the verdict of its findings."""
    by_path: dict[str, FileFacts] = {}
    for fact in facts:
        known = by_path.get(fact.path)
        if known is None or (known.format == "unknown" and fact.format != "unknown"):
            if known is not None:
                fact.sha256 = fact.sha256 or known.sha256
                fact.bytes_read = max(fact.bytes_read, known.bytes_read)
                fact.full_download = fact.full_download or known.full_download
            by_path[fact.path] = fact
            continue
        if fact.sha256 and not known.sha256:
            known.sha256 = fact.sha256
        # Several checks may read the same file; the bytes it took are the most any one read.
        known.bytes_read = max(known.bytes_read, fact.bytes_read)
        known.full_download = known.full_download or fact.full_download
    severities: dict[str, list[Severity]] = {}
    for finding in findings:
        severities.setdefault(finding.path, []).append(finding.severity)
    files = [
        FileReport(
            path=fact.path,
            format=fact.format,
            sha256=fact.sha256,
            verdict=Verdict.of(severities.get(fact.path, [])),
            bytes_read=fact.bytes_read,
            full_download=fact.full_download,
            cached=fact.cached,
        )
        for fact in sorted(by_path.values(), key=lambda f: f.path)
    ]
    return Report(findings=findings, files=files, checks=checks)
