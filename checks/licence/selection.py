"""Which files the header rule applies to: .gitignore and the policy's exemptions honoured."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

import pathspec

# Licence texts, REUSE metadata and sidecars describe licences; they need no header of their own.
_LICENCE_FILE = re.compile(
    r"^(licen[cs]e|copying|notice|copyright|use_policy)([-._].*)?$", re.IGNORECASE
)


def is_licence_metadata(rel: str) -> bool:
    pure = PurePosixPath(rel)
    return (
        bool(_LICENCE_FILE.match(pure.name))
        or pure.parts[0] in ("LICENSES", ".reuse")
        or pure.name in ("REUSE.toml", ".gitignore")
        or pure.suffix == ".license"
    )


def gitignore_spec(root: Path, files: Iterable[str]) -> list[tuple[str, pathspec.GitIgnoreSpec]]:
    """Every .gitignore in the tree, paired with the folder its patterns are relative to."""
    specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []
    candidates = {".gitignore", *(f for f in files if PurePosixPath(f).name == ".gitignore")}
    for rel in sorted(candidates):
        path = root / rel
        if path.is_file():
            lines = path.read_text("utf-8", errors="replace").splitlines()
            folder = str(PurePosixPath(rel).parent)
            specs.append(
                ("" if folder == "." else folder + "/", pathspec.GitIgnoreSpec.from_lines(lines))
            )
    return specs


def select(root: Path, files: Sequence[str], exempt: Sequence[str]) -> tuple[list[str], int, int]:
    """(files to check, how many .gitignore dropped, how many the policy exempts)."""
    ignores = gitignore_spec(root, files)
    exempt_spec = pathspec.GitIgnoreSpec.from_lines(exempt) if exempt else None
    kept: list[str] = []
    ignored = exempted = 0
    for rel in files:
        if any(
            rel.startswith(folder) and spec.match_file(rel[len(folder) :])
            for folder, spec in ignores
        ):
            ignored += 1
        elif exempt_spec is not None and exempt_spec.match_file(rel):
            exempted += 1
        else:
            kept.append(rel)
    return kept, ignored, exempted
