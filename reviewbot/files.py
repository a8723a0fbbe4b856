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
        return sorted(p for p in tracked if (root / p).is_file() and not (root / p).is_symlink())
    return sorted(_walk(root))


def expand_paths(paths: Iterable[Path]) -> list[tuple[Path, str]]:
    """(file, display name) for every file named or found below a named folder."""
    out: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            out.extend((path / rel, (path / rel).as_posix()) for rel in sorted(_walk(path)))
        else:
            out.append((path, path.as_posix()))
    return out


def _walk(root: Path) -> Iterable[str]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in filenames:
            full = Path(dirpath, name)
            if full.is_symlink():  # a link may point outside the contribution
                continue
            yield full.relative_to(root).as_posix()


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
