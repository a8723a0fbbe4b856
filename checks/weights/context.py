"""The state one file's scan carries: where we are, what we allow, what we found."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from checks.findings import Finding, Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource
from checks.weights.limits import Limits

CHECK_NAME = "weights"


class DecompressionBudget:
    """Bytes one top-level file may decompress in all, across every nested archive."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.left = total

    @property
    def spent(self) -> bool:
        return self.left <= 0

    def charge(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise LimitExceeded(f"archives decompress to more than {self.total} bytes in all")


class DeferredPolicy:
    """The import policy, loaded the first time a pickle asks (most files never do), so a
    scan of safetensors or GGUF files never pays for reading the policy data."""

    def __init__(self, extra_allowed: frozenset[str] = frozenset()) -> None:
        self._extra = extra_allowed
        self._policy: Any = None

    def classify(self, module: str, name: str) -> Any:
        if self._policy is None:
            from checks.weights.imports import ImportPolicy

            self._policy = ImportPolicy.default(self._extra)
        return self._policy.classify(module, name)


@dataclass
class ScanContext:
    """Shared by every parser during one top-level file's scan.

    ``trail`` lists the archive members that lead to what is being scanned, so a finding
    inside ``model.pt`` → ``archive/data.pkl`` says so. ``scan_nested`` sniffs and scans
    a member as if it were a file of its own (set by the scanner; avoids import cycles).
    """

    path: str
    policy: Any  # checks.weights.imports.ImportPolicy; Any keeps this module free of cycles
    limits: Limits = field(default_factory=Limits)
    findings: list[Finding] = field(default_factory=list)
    depth: int = 0
    trail: tuple[str, ...] = ()
    scan_nested: Callable[[ByteSource, ScanContext], str] | None = None
    # Shared by every nested context, so archives inside archives cannot multiply the work.
    budget: DecompressionBudget | None = None

    def __post_init__(self) -> None:
        if self.budget is None:
            self.budget = DecompressionBudget(self.limits.max_total_decompressed)

    def nested(self, member: str) -> ScanContext:
        return ScanContext(
            path=self.path,
            policy=self.policy,
            limits=self.limits,
            findings=self.findings,
            depth=self.depth + 1,
            trail=(*self.trail, member),
            scan_nested=self.scan_nested,
            budget=self.budget,
        )

    def where(self, detail: str | None = None) -> str | None:
        parts = [" → ".join(self.trail)] if self.trail else []
        if detail:
            parts.append(detail)
        return ", ".join(parts) or None

    def report(
        self,
        rule: str,
        severity: Severity,
        message: str,
        *,
        detail: str | None = None,
        **extra: Any,
    ) -> None:
        self.findings.append(
            Finding(
                check=CHECK_NAME,
                rule=rule,
                severity=severity,
                path=self.path,
                message=message,
                location=self.where(detail),
                extra=extra,
            )
        )

    def worst(self) -> Severity:
        return max((f.severity for f in self.findings), default=Severity.INFO)


def not_scanned(ctx: ScanContext) -> str:
    """A nested member met without a dispatcher to scan it: a finding, never a silent pass."""
    ctx.report(
        "scanner-error",
        Severity.HIGH,
        "a nested member could not be scanned (no nested scanner in this context); "
        "the file cannot be shown safe",
    )
    return "unscanned"
