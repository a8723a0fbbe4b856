"""REUSE.toml annotations (REUSE 3.3), in every folder: which licence covers which files."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from checks.licence.dep5 import load_dep5

REUSE_TOML = "REUSE.toml"
MAX_TOML = 1024 * 1024


@dataclass(frozen=True)
class Annotation:
    patterns: tuple[re.Pattern[str], ...]
    expression: str
    precedence: str  # "closest" (default), "aggregate" or "override"


@dataclass(frozen=True)
class ReuseFile:
    """One REUSE.toml (or .reuse/dep5): its annotations match paths relative to ``folder``."""

    folder: str  # "" for the root, else "sub/dir/"
    annotations: tuple[Annotation, ...]


def glob_regex(glob: str) -> re.Pattern[str]:
    """REUSE globbing: `*` stays within a folder, `**` crosses folders, `\\*` is a literal star."""
    out: list[str] = []
    i = 0
    while i < len(glob):
        if glob.startswith("\\*", i):
            out.append(re.escape("*"))
            i += 2
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def load_reuse_files(root: Path, files: Iterable[str] = ()) -> tuple[list[ReuseFile], list[str]]:
    """Every REUSE.toml of the tree (root first, deepest last) and .reuse/dep5; with errors."""
    rels = {REUSE_TOML, *(f for f in files if PurePosixPath(f).name == REUSE_TOML)}
    found: list[ReuseFile] = []
    errors: list[str] = []
    for rel in sorted(rels, key=lambda r: (r.count("/"), r)):
        path = root / rel
        if not path.is_file() or path.stat().st_size > MAX_TOML:
            continue
        folder = str(PurePosixPath(rel).parent)
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            errors.append(f"{rel} is not valid TOML ({exc})")
            continue
        found.append(ReuseFile("" if folder == "." else folder + "/", tuple(_annotations(data))))
    dep5, dep5_error = load_dep5(root)
    if dep5_error:
        errors.append(dep5_error)
    if dep5:
        patterns = [(tuple(_dep5_regex(g) for g in globs), expr) for globs, expr in dep5]
        found.insert(0, ReuseFile("", tuple(Annotation(p, e, "closest") for p, e in patterns)))
    return found, errors


def _annotations(data: dict[str, object]) -> Iterable[Annotation]:
    entries = data.get("annotations", [])
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        paths = entry.get("path", [])
        paths = [paths] if isinstance(paths, str) else paths
        expr = entry.get("SPDX-License-Identifier")
        if isinstance(expr, list):
            expr = " AND ".join(f"({e})" for e in expr)
        if not paths or not isinstance(expr, str) or not isinstance(paths, list):
            continue
        yield Annotation(
            tuple(glob_regex(str(p)) for p in paths),
            expr,
            str(entry.get("precedence", "closest")),
        )


def _dep5_regex(glob: str) -> re.Pattern[str]:
    """Debian copyright globs: `*` matches across folders, `?` one character."""
    return re.compile(re.escape(glob).replace(r"\*", ".*").replace(r"\?", ".") + r"\Z")


def annotation_for(reuse_files: Sequence[ReuseFile], rel: str) -> Annotation | None:
    """REUSE 3.3: the nearest REUSE.toml wins, unless a farther one says ``override``.

    Within one file the last matching annotation wins.
    """
    covering = [f for f in reuse_files if rel.startswith(f.folder)]
    for reuse in covering:  # outermost first: an override there beats everything nested
        hit = _last_match(reuse, rel)
        if hit is not None and hit.precedence == "override":
            return hit
    for reuse in reversed(covering):
        hit = _last_match(reuse, rel)
        if hit is not None:
            return hit
    return None


def _last_match(reuse: ReuseFile, rel: str) -> Annotation | None:
    inner = rel[len(reuse.folder) :]
    found = None
    for annotation in reuse.annotations:
        if any(p.match(inner) for p in annotation.patterns):
            found = annotation
    return found
