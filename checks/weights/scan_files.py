"""Files through the scanner into a check result: the weight check's loop body, shared with
``reviewbot scan`` (which must start fast: no cache, no hashing, nothing it does not use)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from checks.base import CheckResult, FileFacts, ProgressCallback
from checks.weights.context import DeferredPolicy
from checks.weights.limits import Limits
from checks.weights.links import link_files
from checks.weights.scanner import FileScan, scan_path


def add_scan(result: CheckResult, scan: FileScan, path: str) -> None:
    """One file's scan into a check result: its findings and what was learnt about it."""
    result.findings.extend(scan.findings)
    result.files.append(
        FileFacts(
            path=path,
            format=scan.format,
            sha256=scan.sha256,
            bytes_read=scan.bytes_read,
            full_download=scan.full_download,
            cached=scan.cached,
        )
    )


def scan_files(
    files: Iterable[tuple[Path, str]],
    *,
    want_sha256: bool = False,
    progress: ProgressCallback | None = None,
    limits: Limits | None = None,
) -> CheckResult:
    """Local files (path, name to show) outside any contribution, as ``reviewbot scan`` sees
    them: the same scanner and the same facts as the check, under the default import policy."""
    policy = DeferredPolicy()
    result = CheckResult()
    paths: dict[str, Path] = {}
    for path, display in files:
        paths[display] = path
        add_scan(result, scan_path(path, display, policy, limits, want_sha256=want_sha256), display)
        if progress is not None:
            progress(display)

    def where(name: str) -> Path:
        # A file beside a scanned one but not named itself: display names are paths as given.
        return paths.get(name, Path(name))

    def size_of(name: str) -> int | None:
        try:
            return where(name).stat().st_size
        except OSError:
            return None

    link_files(result, size_of, lambda name: where(name).read_bytes(), limits)
    return result
