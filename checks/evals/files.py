"""A model's files as the evals see them: byte sources, local or remote, and what each read."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks.base import Contribution
from checks.io.limits import LimitExceeded
from checks.io.source import LocalFile, OpenedSource

# Config, index and tokenizer files are read whole. A tokenizer.json is at most a few tens of
# MB (Gemma's, with 262k tokens, is 33 MB); past this bound the file is reported, not read.
MAX_WHOLE_BYTES = 64 << 20

# Failures a byte source raises: I/O (a remote SourceReadError is an OSError) and its bounds.
READ_ERRORS = (OSError, LimitExceeded)


@dataclass
class ModelFiles:
    """One model's files by relative path, each opened through a byte source.

    ``bytes_read`` adds up what each file's sources read (remote: transferred); ``too_large``
    and ``failed`` say which files were not read and why, for the check to report.
    """

    names: Sequence[str]
    opener: Callable[[str], OpenedSource]
    has: Callable[[str], bool]
    bytes_read: dict[str, int] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    full_download: set[str] = field(default_factory=set)
    too_large: dict[str, tuple[int, int]] = field(default_factory=dict)  # (size, bound)
    failed: dict[str, str] = field(default_factory=dict)
    _whole: dict[str, bytes | None] = field(default_factory=dict)

    def open(self, rel: str) -> OpenedSource:
        """Raises what the source raises (OSError, LimitExceeded); ``account`` after use."""
        return self.opener(rel)

    def account(self, rel: str, source: OpenedSource, read: int | None = None) -> None:
        """Count what ``source`` read (``read`` when the caller counted better, e.g. views)."""
        self.bytes_read[rel] = self.bytes_read.get(rel, 0) + max(source.bytes_read, read or 0)
        if getattr(source, "fell_back", False):
            self.full_download.add(rel)

    def whole(self, rel: str) -> bytes | None:
        """A small file's bytes, read once; None when absent, too large or unreadable."""
        if rel in self._whole:
            return self._whole[rel]
        data: bytes | None = None
        if self.has(rel):
            data = self._read_whole(rel)
        self._whole[rel] = data
        return data

    def _read_whole(self, rel: str) -> bytes | None:
        try:
            with self.open(rel) as source:
                try:
                    if source.size > MAX_WHOLE_BYTES:
                        self.too_large[rel] = (source.size, MAX_WHOLE_BYTES)
                        return None
                    data = source.read_at(0, source.size)
                finally:
                    self.account(rel, source)
        except READ_ERRORS as exc:
            self.failed[rel] = str(exc) or type(exc).__name__
            return None
        self.formats.setdefault(rel, "text")
        return data

    def json(self, rel: str) -> Any:
        """A small JSON file, or None when it is missing, too large, unreadable or not JSON."""
        data = self.whole(rel)
        if data is None:
            return None
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return None

    def text(self, rel: str) -> str | None:
        data = self.whole(rel)
        return None if data is None else data.decode("utf-8", errors="replace")


def of_contribution(contribution: Contribution) -> ModelFiles:
    """The contribution's listed files, local or left on their platform."""
    listed = frozenset(contribution.files)
    return ModelFiles(
        names=list(contribution.files), opener=contribution.open, has=listed.__contains__
    )


def local_folder(root: Path, names: Sequence[str] | None = None) -> ModelFiles:
    """A local model folder (the base): its top-level files unless ``names`` are given."""
    return ModelFiles(
        names=list(names) if names is not None else folder_files(root),
        opener=lambda rel: LocalFile(root / rel),
        has=lambda rel: (root / rel).is_file(),
    )


def folder_files(root: Path) -> list[str]:
    # The base is a folder we were pointed at or downloaded ourselves: a Hub snapshot is made of
    # symlinks into its blob store, so links are followed here (a contribution's never are).
    return sorted(p.name for p in root.iterdir() if p.is_file())
