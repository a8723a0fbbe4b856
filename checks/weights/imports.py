"""Import policy: which globals a pickle may name. STUB — being written (pickle helper)."""

from __future__ import annotations

from dataclasses import dataclass

from checks.findings import Severity


@dataclass(frozen=True)
class Verdict:
    severity: Severity
    category: str  # "allowed", "metadata", "unknown", or a danger class such as "process"
    reason: str


class ImportPolicy:
    @classmethod
    def default(cls, extra_allowed: frozenset[str] = frozenset()) -> ImportPolicy:
        return cls()

    def classify(self, module: str, name: str) -> Verdict:
        raise NotImplementedError
