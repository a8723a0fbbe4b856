"""The weight-scan check: every file of a contribution through the scanner, local or remote."""

from __future__ import annotations

from checks.base import CheckResult, Contribution, ProgressCallback, RemoteBlob
from checks.cache import (
    CachedScan,
    ResultCache,
    cache_key,
    cacheable,
    policy_fingerprint,
)
from checks.weights.context import DeferredPolicy
from checks.weights.limits import Limits
from checks.weights.links import ReadFile, link_files
from checks.weights.scan_files import add_scan
from checks.weights.scanner import FileScan, scan_path


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
            blob = contribution.remote.get(rel)
            known = contribution.known_sha256.get(rel) or (blob.sha256 if blob else None)
            if blob is not None:
                scan = scan_blob(blob, rel, policy, cache, fingerprint, self.limits, sha256=known)
            else:
                scan = cached_scan(cache, known, fingerprint, rel) or self._scan_local(
                    contribution, rel, policy, known
                )
                remember(cache, scan, fingerprint)
            add_scan(result, scan, rel)
            if progress is not None:
                progress(rel)
        link_files(result, contribution.size_of, _local_reader(contribution), self.limits)
        return result

    def _scan_local(
        self, contribution: Contribution, rel: str, policy: DeferredPolicy, known: str | None
    ) -> FileScan:
        scan = scan_path(
            contribution.root / rel,
            rel,
            policy,
            self.limits,
            want_sha256=contribution.compute_sha256 and known is None,
        )
        scan.sha256 = known or scan.sha256
        return scan


def _local_reader(contribution: Contribution) -> ReadFile:
    """Reads a contribution file kept on disk (remote ones are weights, never modules)."""

    def read(rel: str) -> bytes | None:
        if contribution.is_remote(rel):
            return None
        root = contribution.root.resolve()
        path = (root / rel).resolve()
        # A link (the file or a folder above it) may point outside the contribution.
        return path.read_bytes() if path.is_relative_to(root) and path == root / rel else None

    return read


def cached_scan(
    cache: ResultCache | None, sha256: str | None, fingerprint: str, display: str
) -> FileScan | None:
    """The stored scan of a blob with this content hash, restored under ``display``; or None."""
    if cache is None or not sha256:
        return None
    hit = cache.get(cache_key(sha256, fingerprint, display))
    if hit is None:
        return None
    return FileScan(display, hit.format, hit.restore(display), sha256, cached=True)


def remember(cache: ResultCache | None, scan: FileScan, fingerprint: str) -> None:
    """Store a scan under its content hash, unless it says something about the transfer."""
    if (
        cache is not None
        and scan.sha256
        and cacheable(scan.findings, full_download=scan.full_download)
    ):
        cache.put(
            cache_key(scan.sha256, fingerprint, scan.path),
            CachedScan.of(scan.format, scan.findings),
        )


def scan_blob(
    blob: RemoteBlob,
    display: str,
    policy: DeferredPolicy,
    cache: ResultCache | None,
    fingerprint: str,
    limits: Limits | None = None,
    *,
    sha256: str | None = None,
    want_sha256: bool = False,
) -> FileScan:
    """A remote file: from the cache when its hash is known and stored, else through ranges."""
    sha256 = sha256 or blob.sha256
    hit = cached_scan(cache, sha256, fingerprint, display)
    if hit is not None:
        return hit
    from checks.io.http import HttpRangeSource
    from checks.weights.scanner import scan_remote

    source = HttpRangeSource(blob.url, headers=blob.headers, size=blob.size)
    scan = scan_remote(source, display, policy, limits, want_sha256=want_sha256, sha256=sha256)
    remember(cache, scan, fingerprint)
    return scan
