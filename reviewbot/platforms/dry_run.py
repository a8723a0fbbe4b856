"""A platform that reads for real and writes nothing: ``REVIEWBOT_DRY_RUN`` wraps the real one."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from reviewbot.history.records import ContributionMeta
from reviewbot.models import ContributionRef
from reviewbot.platforms.base import (
    ChangedFile,
    Fetched,
    FileListing,
    PlatformClient,
    Publication,
)

log = logging.getLogger(__name__)


class DryRunPlatform:
    """Every read goes to ``inner``; every write is logged and kept in ``would``, never sent.

    Wrapping the client (rather than guarding each call site) covers every write path: the
    verdict, the error verdict, a superseded run's cancel, labels and reactions.
    """

    def __init__(self, inner: PlatformClient) -> None:
        self.inner = inner
        self.name = inner.name
        self.has_status = inner.has_status
        self.would: list[str] = []

    def _would(self, ref: ContributionRef, what: str) -> None:
        self.would.append(what)
        log.info("dry run: would %s", what, extra={"key": ref.key})

    # -- reads ------------------------------------------------------------------------------

    def head_sha(self, ref: ContributionRef) -> str:
        return self.inner.head_sha(ref)

    def skip_reason(self, ref: ContributionRef) -> str | None:
        return self.inner.skip_reason(ref)

    def list_changed_files(self, ref: ContributionRef, head_sha: str) -> FileListing:
        return self.inner.list_changed_files(ref, head_sha)

    def download(
        self,
        ref: ContributionRef,
        head_sha: str,
        files: list[ChangedFile],
        workdir: Path,
        *,
        remote_min_bytes: int | None = None,
    ) -> Fetched:
        return self.inner.download(ref, head_sha, files, workdir, remote_min_bytes=remote_min_bytes)

    def base_revision(self, ref: ContributionRef) -> str | None:
        return self.inner.base_revision(ref)

    def fetch_paths(
        self,
        ref: ContributionRef,
        revision: str,
        names: Sequence[str],
        workdir: Path,
        *,
        max_bytes: int,
    ) -> Fetched:
        return self.inner.fetch_paths(ref, revision, names, workdir, max_bytes=max_bytes)

    def contribution_meta(self, ref: ContributionRef) -> ContributionMeta:
        return self.inner.contribution_meta(ref)

    def find_verdict(self, ref: ContributionRef) -> str | None:
        return self.inner.find_verdict(ref)

    def published(self, ref: ContributionRef, head_sha: str) -> bool:
        return self.inner.published(ref, head_sha)

    def may_recheck(self, ref: ContributionRef, user: str) -> bool:
        return self.inner.may_recheck(ref, user)

    # -- writes, never sent -----------------------------------------------------------------

    def begin(self, ref: ContributionRef, head_sha: str) -> None:
        if self.has_status:
            self._would(ref, f"open a check run on {head_sha[:12]}")

    def cancel(self, ref: ContributionRef, head_sha: str) -> None:
        if self.has_status:
            self._would(ref, f"cancel the check run on {head_sha[:12]}")

    def publish(self, ref: ContributionRef, publication: Publication) -> None:
        if publication.comment:
            self._would(ref, f"post the {publication.verdict} comment")
        if publication.fixes and self.has_status:
            self._would(ref, f"suggest {len(publication.fixes)} text fixes in a review")
        if self.has_status:
            self._would(ref, f"complete the check run: {publication.title}")

    def react(self, ref: ContributionRef, comment_id: int, content: str) -> None:
        self._would(ref, f"react {content} on comment {comment_id}")
