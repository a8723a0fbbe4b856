"""Which files a local review looks at."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

SKIP_DIRS = frozenset({".git", ".hg", ".svn"})


def contribution_files(root: Path) -> list[str]:
    """Relative POSIX paths of a folder's files; a git work tree answers with what git tracks
    or would track (so `.gitignore` is honoured), any other folder with everything in it."""
    tracked = _git_files(root)
    if tracked is not None:
        return sorted(p for p in tracked if (root / p).is_file() and not _is_link(root / p))
    return sorted(_walk(root))


def linked_files(root: Path) -> list[str]:
    """Relative POSIX paths of the symbolic links in a folder, which reviews never follow: git's
    own list in a work tree, every link below it otherwise."""
    tracked = _git_files(root)
    if tracked is not None:
        return sorted(p for p in tracked if _is_link(root / p))
    return sorted(_walk(root, links=True))


def expand_links(paths: Iterable[Path]) -> list[tuple[Path, str]]:
    """(link, display name) for every symbolic link found below a named folder."""
    return [
        (path / rel, (path / rel).as_posix())
        for path in paths
        if path.is_dir()
        for rel in sorted(_walk(path, links=True))
    ]


def expand_paths(paths: Iterable[Path]) -> list[tuple[Path, str]]:
    """(file, display name) for every file named or found below a named folder."""
    out: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            out.extend((path / rel, (path / rel).as_posix()) for rel in sorted(_walk(path)))
        else:
            out.append((path, path.as_posix()))
    return out


def _walk(root: Path, *, links: bool = False) -> Iterable[str]:
    """Files below ``root``, or with ``links`` its symbolic links (to files or folders), which
    are never followed: a link may point outside the contribution."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in [*filenames, *(d for d in dirnames if Path(dirpath, d).is_symlink())]:
            full = Path(dirpath, name)
            if _is_link(full) == links:
                yield full.relative_to(root).as_posix()


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
