"""Which files a local review looks at."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SKIP_DIRS = frozenset({".git", ".hg", ".svn"})


@dataclass(frozen=True)
class Listing:
    """A folder's files, and its symbolic links (never followed), as relative POSIX paths."""

    files: list[str]
    links: list[str]


def folder_listing(root: Path) -> Listing:
    """A git work tree answers with what git tracks or would track (so `.gitignore` is
    honoured), any other folder with everything in it; one listing serves files and links."""
    tracked = _git_files(root)
    entries = (
        _walk(root)
        if tracked is None
        else (
            (p, _is_link(root / p))
            for p in tracked
            if (root / p).is_file() or (root / p).is_symlink()
        )
    )
    files: list[str] = []
    links: list[str] = []
    for rel, is_link in entries:
        (links if is_link else files).append(rel)
    return Listing(sorted(files), sorted(links))


def contribution_files(root: Path) -> list[str]:
    """Relative POSIX paths of a folder's files (see ``folder_listing``)."""
    return folder_listing(root).files


@dataclass(frozen=True)
class Expanded:
    """Paths named on a command line: files as (path, display name), and the symbolic links
    found below named folders as (link, display name, the folder it was found in)."""

    files: list[tuple[Path, str]]
    links: list[tuple[Path, str, Path]]


def expand_paths(paths: Iterable[Path]) -> Expanded:
    """Every file named or found below a named folder, and the links found there."""
    files: list[tuple[Path, str]] = []
    links: list[tuple[Path, str, Path]] = []
    for path in paths:
        if not path.is_dir():
            files.append((path, path.as_posix()))
            continue
        for rel, is_link in sorted(_walk(path)):
            full = path / rel
            if is_link:
                links.append((full, full.as_posix(), path))
            else:
                files.append((full, full.as_posix()))
    return Expanded(files, links)


def _walk(root: Path) -> Iterable[tuple[str, bool]]:
    """(relative path, is a link) for the files below ``root`` and its links to files or
    folders, which are never followed: a link may point outside the contribution."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in [*filenames, *(d for d in dirnames if Path(dirpath, d).is_symlink())]:
            full = Path(dirpath, name)
            yield full.relative_to(root).as_posix(), _is_link(full)


def _is_link(path: Path) -> bool:
    """A symbolic link, unless it is one of huggingface_hub's cache: a snapshot's files are
    links to their repository's own ``blobs/`` (a downloaded model reviewed where it lies)."""
    if not path.is_symlink():
        return False
    snapshot = next((p for p in path.parents if p.parent.name == "snapshots"), None)
    if snapshot is None:
        return True
    try:
        target = path.resolve(strict=True)
        blobs = (snapshot.parent.parent / "blobs").resolve(strict=True)
    except (OSError, RuntimeError):
        return True
    return not (target.parent == blobs and target.is_file())


def _git_files(root: Path) -> list[str] | None:
    if not (root / ".git").exists():
        return None
    import subprocess  # only for git work trees: `scan` starts faster without it

    try:
        out = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]
