"""The seam between the review service and a hosting platform (GitHub, the Hub)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Literal, Protocol

from checks.base import RemoteBlob
from checks.fixes import Fix
from reviewbot.errors import PermanentError
from reviewbot.history.records import ContributionMeta
from reviewbot.models import ContributionRef

AnnotationLevel = Literal["notice", "warning", "failure"]
# Permissions that may ask for a re-check (GitHub's names; `maintain` is a role on top of write).
RECHECK_PERMISSIONS = frozenset({"admin", "maintain", "write"})
# GitHub's reaction contents that reviewbot uses: seen, done, refused, could not be done.
SEEN, DONE, REFUSED, FAILED = "eyes", "rocket", "-1", "confused"


@dataclass(frozen=True)
class ChangedFile:
    """One file a contribution adds or changes. ``lfs_sha256`` is the Git LFS oid when known."""

    path: str
    status: str = "modified"  # added / modified / renamed / removed (removed ones are not fetched)
    size: int | None = None
    lfs_sha256: str | None = None
    # The platform's own scan of the file (the Hub's security status), shown for information.
    platform_scan: str | None = None
    # The git blob sha at the head, as listed: what an accepted finding is tied to.
    blob_sha: str | None = None


@dataclass(frozen=True)
class FileListing:
    files: list[ChangedFile]
    # The platform stopped listing before the end (GitHub lists at most 3,000 files).
    truncated: bool = False
    total: int | None = None


@dataclass(frozen=True)
class Fetched:
    """What a fetch wrote: repository paths, LFS-vouched sha256s, and what it left out.

    ``remote`` holds the files left on the platform (read later through range requests);
    they are not under the work dir and not in ``paths``.
    """

    paths: list[str] = field(default_factory=list)
    sha256: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # path -> why it was not fetched
    remote: dict[str, RemoteBlob] = field(default_factory=dict)
    # Symbolic links among the files (path -> target): never fetched as files, reported as links.
    links: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Annotation:
    path: str
    message: str
    title: str
    level: AnnotationLevel = "warning"
    start_line: int = 1
    end_line: int = 1


@dataclass(frozen=True)
class CheckAction:
    """A button on the check run (GitHub's requested actions): label <= 20 characters,
    description <= 40, identifier <= 20; clicking it sends ``check_run.requested_action``."""

    label: str
    description: str
    identifier: str


@dataclass(frozen=True)
class Publication:
    """A verdict as published: the sticky comment body plus what a checks UI shows."""

    head_sha: str
    verdict: str  # pass / warn / fail / error
    body: str
    title: str
    summary: str
    annotations: list[Annotation] = field(default_factory=list)
    # What the comment says (``reviewbot.publication.fingerprint``), also hidden in ``body``.
    fingerprint: str = ""
    # Whether to create or edit the sticky comment; the check run and label are always written.
    comment: bool = True
    # Text fixes the findings carry: suggestions on GitHub, ``/reviewbot fix`` on the Hub.
    fixes: tuple[Fix, ...] = ()
    # Buttons on the check run (an Accept for findings a maintainer may accept); GitHub only.
    actions: tuple[CheckAction, ...] = ()


class PlatformClient(Protocol):
    """What the service needs from a platform; each call maps failures to reviewbot.errors."""

    name: str
    # Whether a verdict shows without a comment (a check run on GitHub; the Hub has none).
    has_status: bool

    def head_sha(self, ref: ContributionRef) -> str:
        """The contribution's current head commit (a newer push supersedes older reviews)."""
        ...

    def skip_reason(self, ref: ContributionRef) -> str | None:
        """Why not to review at all (closed, not a watched fine-tune), or None to go ahead."""
        ...

    def list_changed_files(self, ref: ContributionRef, head_sha: str) -> FileListing: ...

    def download(
        self,
        ref: ContributionRef,
        head_sha: str,
        files: list[ChangedFile],
        workdir: Path,
        *,
        remote_min_bytes: int | None = None,
    ) -> Fetched:
        """Fetch ``files`` at ``head_sha`` into ``workdir`` under their repository paths.

        Git LFS objects of at least ``remote_min_bytes`` (None: none) are not downloaded: they
        come back in ``Fetched.remote``, to be read through range requests. ``Fetched.sha256``
        has the hash of every file the platform vouched for (LFS), local or remote.
        """
        ...

    def base_revision(self, ref: ContributionRef) -> str | None:
        """The commit the contribution would merge into (its policy applies), or None."""
        ...

    def fetch_paths(
        self,
        ref: ContributionRef,
        revision: str,
        names: Sequence[str],
        workdir: Path,
        *,
        max_bytes: int,
    ) -> Fetched:
        """Fetch the top-level files at ``revision`` whose names match ``names`` (see
        ``matches_name``) into ``workdir``; absent ones are simply not fetched, files already in
        ``workdir`` are kept, and files over ``max_bytes`` are skipped and named in the result.
        """
        ...

    def find_verdict(self, ref: ContributionRef) -> str | None:
        """The body of the bot's sticky comment, if it has posted one."""
        ...

    def published(self, ref: ContributionRef, head_sha: str) -> bool:
        """Whether the verdict for ``head_sha`` is fully out: the sticky comment names that
        commit and whatever status surface the platform has (a check run) is complete."""
        ...

    def begin(self, ref: ContributionRef, head_sha: str) -> None:
        """Show that a review is under way, where the platform can (a check run in progress)."""
        ...

    def cancel(self, ref: ContributionRef, head_sha: str) -> None:
        """Close what ``begin`` opened without a verdict: the head moved on mid-review."""
        ...

    def publish(self, ref: ContributionRef, publication: Publication) -> None:
        """Create or edit the sticky comment, then whatever status surface the platform has."""
        ...

    def contribution_meta(self, ref: ContributionRef) -> ContributionMeta:
        """What the platform says of the contribution for the history: title, author, state,
        times, link, declared base models and licence (read after the verdict is out)."""
        ...

    def may_recheck(self, ref: ContributionRef, user: str) -> bool:
        """Whether ``user`` may ask for a re-check of this contribution."""
        ...

    def react(self, ref: ContributionRef, comment_id: int, content: str) -> None:
        """Acknowledge a command comment with a reaction (``REACTIONS``); never a new comment.
        A platform without reactions does nothing."""
        ...


def safe_destination(workdir: Path, repo_path: str) -> Path:
    """Where a repository path lands in the work dir; refuses names that would escape it."""
    pure = PurePosixPath(repo_path)
    if pure.is_absolute() or not pure.parts or any(p in ("..", "", ".") for p in pure.parts):
        raise PermanentError(f"refusing an unsafe repository path: {repo_path!r}")
    dest = workdir.joinpath(*pure.parts)
    root = workdir.resolve()
    if root not in dest.resolve().parents:
        raise PermanentError(f"refusing a path outside the work dir: {repo_path!r}")
    return dest


def matches_name(name: str, patterns: Sequence[str]) -> bool:
    """Whether a top-level file name matches one of ``patterns`` (shell-style, any case).

    Any case because a licence check reads ``License.txt`` as readily as ``LICENSE.txt``.
    """
    folded = name.casefold()
    return "/" not in name and any(fnmatchcase(folded, p.casefold()) for p in patterns)
