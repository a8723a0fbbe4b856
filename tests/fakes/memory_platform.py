"""An in-memory PlatformClient for the review flow's unit tests: state, not a call log.

It keeps what a maintainer would see (the head, the sticky comment, the check runs) and lets a
test change the world between calls (``on_write`` runs before every write: a push mid-review, a
transient failure). Tests assert on that state, never on the order of calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from reviewbot.history.records import ContributionMeta
from reviewbot.models import ContributionRef
from reviewbot.platforms.base import (
    ChangedFile,
    Fetched,
    FileListing,
    Publication,
    matches_name,
    safe_destination,
)

OPENED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass
class Run:
    head_sha: str
    status: str = "in_progress"
    conclusion: str | None = None


@dataclass
class MemoryPlatform:
    head: str
    has_status = True
    files: dict[str, bytes]  # what the contribution changes, at the head
    base_files: dict[str, bytes] = field(default_factory=dict)
    writers: frozenset[str] = frozenset({"maintainer"})
    comment: str | None = None
    comment_writes: int = 0
    runs: list[Run] = field(default_factory=list)
    reactions: dict[int, set[str]] = field(default_factory=dict)  # comment id -> contents
    on_write: Callable[[str], None] | None = None  # called with "begin" / "publish" / "cancel"
    title: str = "a contribution"

    def _write(self, what: str) -> None:
        if self.on_write is not None:
            self.on_write(what)

    def head_sha(self, ref: ContributionRef) -> str:
        return self.head

    def skip_reason(self, ref: ContributionRef) -> str | None:
        return None

    def list_changed_files(self, ref: ContributionRef, head_sha: str) -> FileListing:
        return FileListing([ChangedFile(path, "added") for path in sorted(self.files)])

    def download(
        self,
        ref: ContributionRef,
        head_sha: str,
        files: list[ChangedFile],
        workdir: Path,
        *,
        remote_min_bytes: int | None = None,
    ) -> Fetched:
        return self._put(workdir, {f.path: self.files[f.path] for f in files})

    def base_revision(self, ref: ContributionRef) -> str | None:
        return "b" * 40

    def fetch_paths(
        self,
        ref: ContributionRef,
        revision: str,
        names: Sequence[str],
        workdir: Path,
        *,
        max_bytes: int,
    ) -> Fetched:
        source = self.base_files if revision == "b" * 40 else {**self.base_files, **self.files}
        wanted = {
            path: data
            for path, data in source.items()
            if "/" not in path
            and matches_name(path, names)
            and not safe_destination(workdir, path).exists()
        }
        return self._put(workdir, wanted)

    @staticmethod
    def _put(workdir: Path, files: dict[str, bytes]) -> Fetched:
        for path, data in files.items():
            dest = safe_destination(workdir, path)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        return Fetched(paths=sorted(files))

    def find_verdict(self, ref: ContributionRef) -> str | None:
        return self.comment

    def published(self, ref: ContributionRef, head_sha: str) -> bool:
        runs = [r for r in self.runs if r.head_sha == head_sha]
        return (
            bool(runs)
            and all(r.status == "completed" for r in runs)
            and runs[-1].conclusion != "cancelled"
        )

    def begin(self, ref: ContributionRef, head_sha: str) -> None:
        self._write("begin")
        if not any(r.head_sha == head_sha and r.status != "completed" for r in self.runs):
            self.runs.append(Run(head_sha))

    def cancel(self, ref: ContributionRef, head_sha: str) -> None:
        self._write("cancel")
        for run in self.runs:
            if run.head_sha == head_sha and run.status != "completed":
                run.status, run.conclusion = "completed", "cancelled"

    def publish(self, ref: ContributionRef, publication: Publication) -> None:
        self._write("publish")
        if publication.comment and self.comment != publication.body:
            self.comment = publication.body
            self.comment_writes += 1
        runs = [r for r in self.runs if r.head_sha == publication.head_sha]
        run = next((r for r in runs if r.status != "completed"), runs[-1] if runs else None)
        if run is None:
            run = Run(publication.head_sha)
            self.runs.append(run)
        run.status, run.conclusion = "completed", publication.verdict

    def contribution_meta(self, ref: ContributionRef) -> ContributionMeta:
        return ContributionMeta(
            ref.platform.value, ref.repo, ref.number, ref.kind.value, OPENED, title=self.title
        )

    def may_recheck(self, ref: ContributionRef, user: str) -> bool:
        return user in self.writers

    def react(self, ref: ContributionRef, comment_id: int, content: str) -> None:
        self.reactions.setdefault(comment_id, set()).add(content)
