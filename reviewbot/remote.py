"""Remote scan inputs: single-file URLs and Hub repositories, read through HTTP range requests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reviewbot.errors import RemoteListingError as RemoteListingError

if TYPE_CHECKING:
    from checks.cache import ResultCache
    from checks.weights.context import DeferredPolicy
    from checks.weights.scanner import FileScan

# huggingface_hub and requests are imported inside the functions: `reviewbot scan` of a local
# file imports this module's caller and must stay light.
REMOTE_PREFIXES = ("http://", "https://", "hf://")


def is_remote(spec: str) -> bool:
    return spec.startswith(REMOTE_PREFIXES)


@dataclass(frozen=True)
class RemoteFile:
    """One file to scan: where to read it, how to name it, what the platform already knows."""

    url: str
    display: str
    size: int | None = None
    sha256: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def parse_hub_spec(spec: str) -> tuple[str, str | None]:
    """``hf://ORG/MODEL[@REVISION]`` -> (repo id, revision); the revision may hold slashes."""
    body = spec.removeprefix("hf://")
    repo_id, at, revision = body.partition("@")
    repo_id = repo_id.strip("/")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")) or (at and not revision):
        raise ValueError(f"not a Hub model: {spec} (expected hf://ORG/MODEL[@REVISION])")
    return repo_id, revision or None


def expand_remote(spec: str, *, endpoint: str | None, token: str | None) -> list[RemoteFile]:
    """The files a remote spec names. Raises RemoteListingError when a Hub repo cannot be listed."""
    from checks.io.http import display_url  # brings requests: only for URLs

    if not spec.startswith("hf://"):
        return [RemoteFile(url=spec, display=display_url(spec))]
    repo_id, revision = parse_hub_spec(spec)
    from huggingface_hub import HfApi, hf_hub_url
    from huggingface_hub.hf_api import RepoFile

    api = HfApi(endpoint=endpoint, token=token)
    try:
        entries = list(api.list_repo_tree(repo_id, revision=revision, recursive=True))
    except Exception as exc:  # any Hub or network failure is a finding, not a traceback
        raise RemoteListingError(f"cannot list {spec}: {_short(exc)}") from None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    prefix = f"hf://{repo_id}@{revision}" if revision else f"hf://{repo_id}"
    files = []
    for entry in entries:
        if not isinstance(entry, RepoFile):
            continue
        url = hf_hub_url(repo_id, entry.path, revision=revision, endpoint=endpoint)
        files.append(
            RemoteFile(
                url=url,
                display=f"{prefix}/{entry.path}",
                size=entry.size,
                sha256=entry.lfs.sha256 if entry.lfs is not None else None,
                headers=dict(headers),
            )
        )
    return sorted(files, key=lambda f: f.display)


def scan_remote_file(
    file: RemoteFile,
    policy: DeferredPolicy,
    *,
    want_sha256: bool = False,
    cache: ResultCache | None = None,
    fingerprint: str = "",
) -> FileScan:
    """Scan one remote file through range requests; failures come back as findings.

    With a ``cache``, a file whose sha256 the platform gave is looked up first and, on a hit, not
    fetched at all; a scan that says only what the content is gets stored under its sha256.
    ``fingerprint`` is :func:`checks.cache.policy_fingerprint` of ``policy``.
    """
    from checks.base import RemoteBlob
    from checks.weights.check import scan_blob

    blob = RemoteBlob(file.url, size=file.size, sha256=file.sha256, headers=file.headers)
    return scan_blob(
        blob, file.display, policy, cache, fingerprint, want_sha256=want_sha256, sha256=file.sha256
    )


def scan_specs(
    specs: list[str],
    policy: DeferredPolicy,
    *,
    endpoint: str | None,
    token: str | None,
    want_sha256: bool = False,
    advance: Callable[[str], None] | None = None,
    cache: ResultCache | None = None,
    fingerprint: str | None = None,
) -> list[FileScan]:
    """Every file of every remote spec, scanned; a spec that cannot be listed is a finding.

    ``fingerprint`` hashes ``policy``'s extra allowed imports for cache keys (default: none).
    """
    from checks.findings import Finding, Severity
    from checks.weights.context import CHECK_NAME
    from checks.weights.scanner import FileScan

    if cache is not None and fingerprint is None:
        from checks.cache import policy_fingerprint

        fingerprint = policy_fingerprint()
    out: list[FileScan] = []
    for spec in specs:
        try:
            files = expand_remote(spec, endpoint=endpoint, token=token)
        except RemoteListingError as exc:
            finding = Finding(CHECK_NAME, "unreadable-file", Severity.HIGH, spec, str(exc))
            out.append(FileScan(spec, "unknown", [finding]))
            continue
        for file in files:
            out.append(
                scan_remote_file(
                    file,
                    policy,
                    want_sha256=want_sha256,
                    cache=cache,
                    fingerprint=fingerprint or "",
                )
            )
            if advance is not None:
                advance(file.display)
    return out


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
