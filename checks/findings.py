"""Severity, findings and verdicts: the vocabulary every check speaks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any


class Severity(IntEnum):
    """Ordered so that max() over findings gives the worst one."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}") from None


class Verdict(StrEnum):
    """What the review says of a contribution (or of one file)."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    WARN = "warn"
    FAIL = "fail"

    @classmethod
    def of(cls, severities: Iterable[Severity]) -> Verdict:
        worst = max(severities, default=Severity.INFO)
        if worst >= Severity.HIGH:
            return cls.FAIL
        if worst >= Severity.MEDIUM:
            return cls.WARN
        return cls.PASS


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a check saw. ``rule`` is a stable id; ``extra`` holds JSON-safe details."""

    check: str
    rule: str
    severity: Severity
    path: str
    message: str
    location: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "check": self.check,
            "rule": self.rule,
            "severity": self.severity.label,
            "path": self.path,
            "message": self.message,
        }
        if self.location is not None:
            data["location"] = self.location
        data.update(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        known = {"check", "rule", "severity", "path", "message", "location"}
        return cls(
            check=str(data["check"]),
            rule=str(data["rule"]),
            severity=Severity.parse(str(data["severity"])),
            path=str(data["path"]),
            message=str(data["message"]),
            location=data.get("location"),
            extra={k: v for k, v in data.items() if k not in known},
        )
