"""The weight-scan check: every file of a contribution through the scanner."""

from __future__ import annotations

from checks.base import CheckResult, Contribution, FileFacts, ProgressCallback
from checks.weights.cache import CachedScan, cache_key, cacheable, policy_fingerprint
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
        extra = contribution.policy.extra_allowed_imports
        policy = DeferredPolicy(extra)
        cache = contribution.result_cache
        fingerprint = policy_fingerprint(extra) if cache is not None else ""
        result = CheckResult()
        for rel in contribution.files:
            known = contribution.known_sha256.get(rel)
            hit = cache.get(cache_key(known, fingerprint, rel)) if cache and known else None
            if hit is not None:  # a blob scanned before: the file is not opened at all
                result.findings.extend(hit.restore(rel))
                result.files.append(FileFacts(rel, hit.format, known, bytes_read=0, cached=True))
            else:
                scan = scan_path(
                    contribution.root / rel,
                    rel,
                    policy,
                    self.limits,
                    want_sha256=contribution.compute_sha256 and known is None,
                )
                sha = known or scan.sha256
                if cache is not None and sha and cacheable(scan.findings):
                    cache.put(
                        cache_key(sha, fingerprint, rel), CachedScan.of(scan.format, scan.findings)
                    )
                result.findings.extend(scan.findings)
                result.files.append(
                    FileFacts(path=rel, format=scan.format, sha256=sha, bytes_read=scan.bytes_read)
                )
            if progress is not None:
                progress(rel)
        return result
