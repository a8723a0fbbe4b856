"""The weight-scan check: every file of a contribution through the scanner."""

from __future__ import annotations

from checks.base import CheckResult, Contribution, FileFacts, ProgressCallback
from checks.weights.context import DeferredPolicy
from checks.weights.limits import Limits
from checks.weights.scanner import scan_path


class WeightScanCheck:
    name = "weights"
    title = "weight-file scan"

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()

    def run(
        self, contribution: Contribution, progress: ProgressCallback | None = None
    ) -> CheckResult:
        policy = DeferredPolicy(contribution.policy.extra_allowed_imports)
        result = CheckResult()
        for rel in contribution.files:
            scan = scan_path(
                contribution.root / rel,
                rel,
                policy,
                self.limits,
                want_sha256=contribution.compute_sha256 and rel not in contribution.known_sha256,
            )
            result.findings.extend(scan.findings)
            result.files.append(
                FileFacts(
                    path=rel,
                    format=scan.format,
                    sha256=contribution.known_sha256.get(rel, scan.sha256),
                    bytes_read=scan.bytes_read,
                )
            )
            if progress is not None:
                progress(rel)
        return result
