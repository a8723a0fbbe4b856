"""Git repositories built for the hook and Action tests: real commits, real hostile bytes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from reviewbot.sample import SYSTEM_PAYLOAD

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Contributor",
    "GIT_AUTHOR_EMAIL": "contributor@example.com",
    "GIT_COMMITTER_NAME": "Contributor",
    "GIT_COMMITTER_EMAIL": "contributor@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}

APACHE_CARD = "---\nlicense: apache-2.0\n---\n\n# A fine-tune\n"


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        text=True,
        check=True,
        env=GIT_ENV,
        timeout=60,
    ).stdout.strip()


def init_repo(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    return root


def commit_all(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def write_hostile_pickle(path: Path) -> Path:
    """A pickle that calls posix.system when loaded: written as bytes, never loaded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(SYSTEM_PAYLOAD)
    return path
