"""The check interface: a contribution goes in, findings and per-file facts come out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from checks.findings import Finding
from checks.io.limits import LimitExceeded
from checks.io.source import LocalFile
from checks.policy import Policy

if TYPE_CHECKING:
    from checks.cache import ResultCache
    from checks.io.source import OpenedSource

# Called once per file a check finishes, so a front end can draw progress.
ProgressCallback = Callable[[str], None]


@dataclass(frozen=True)
class RemoteBlob:
    """A contribution file left on its platform and read through HTTP range requests.

    ``sha256`` is the content hash the platform vouches for (a Git LFS oid), when it gives one;
    ``headers`` (credentials) go only to the URL's own host.
    """

    url: str
    size: int | None = None
    sha256: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Contribution:
    """A contribution: files in a local folder, and big ones that stay on their platform.

    ``files`` names every file, local or not; those in ``remote`` are not under ``root`` and are
    read only through :meth:`open`, so checks read both kinds the same way.
    """

    root: Path
    files: Sequence[str]
    base: Path | None = None
    policy: Policy = field(default_factory=Policy)
    # Content hashes the platform already knows (a Git LFS oid is a sha256), by relative path.
    known_sha256: dict[str, str] = field(default_factory=dict)
    compute_sha256: bool = False
    # Base model id → its card text, fetched by reviewbot.base_model for the licence check.
    base_cards: Mapping[str, str] = field(default_factory=dict)
    # The contribution's own model id on the Hub ("org/name"), when known: licences constrain names.
    model_id: str | None = None
    # The base's Hub id when the caller resolved one into ``base`` (adapters name their base by id).
    base_id: str | None = None
    # Tier-2 model evals (torch, in a sandbox) run only when asked: `review --model-evals`.
    run_model_evals: bool = False
    # Per-file scan results by content hash: a file whose sha256 is known and cached is not read.
    result_cache: ResultCache | None = None
    # Files not downloaded (relative path -> where to read them); each is also in ``files``.
    remote: Mapping[str, RemoteBlob] = field(default_factory=dict)
    # At most this many tensor bytes are streamed for the tier-1 evals (None: no bound); past
    # it the tensor checks are skipped and the verdict says so.
    max_stream_bytes: int | None = None

    def is_remote(self, rel: str) -> bool:
        return rel in self.remote

    def size_of(self, rel: str) -> int | None:
        """The file's size in bytes, None when unknown or missing."""
        blob = self.remote.get(rel)
        if blob is not None:
            return blob.size
        try:
            return (self.root / rel).stat().st_size
        except OSError:
            return None

    def open(self, rel: str) -> OpenedSource:
        """A byte source for one file, local or remote; close it after use (``with`` works).

        Raises OSError (``SourceReadError`` for a remote file) when the file cannot be opened.
        """
        blob = self.remote.get(rel)
        if blob is None:
            return LocalFile(self.root / rel)
        # late: requests is a noticeable part of start-up, and a local scan never needs it
        from checks.io.http import HttpRangeSource

        return HttpRangeSource(blob.url, headers=blob.headers, size=blob.size)

    def read_head(self, rel: str, limit: int) -> bytes | None:
        """The first ``limit`` bytes of a file (all of a smaller one); None when unreadable."""
        try:
            with self.open(rel) as source:
                return source.read_at(0, limit)
        except (OSError, LimitExceeded):
            return None


@dataclass
class FileFacts:
    """What a check learnt about one file beyond its findings."""

    path: str
    format: str
    sha256: str | None = None
    bytes_read: int = 0  # what the scan read (or, remote, transferred); small for big checkpoints
    full_download: bool = False  # a remote server ignored ranges: the whole file came down
    cached: bool = False  # the result came from the result cache: the file was not read


@dataclass
class CheckResult:
    """A check's output. ``notes`` say what ran and what was skipped, and why."""

    findings: list[Finding] = field(default_factory=list)
    files: list[FileFacts] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Check(Protocol):
    """Every check (weights, licence, evals) has this shape; the runner fails it closed."""

    name: str
    title: str

    def run(
        self, contribution: Contribution, progress: ProgressCallback | None = None
    ) -> CheckResult: ...
