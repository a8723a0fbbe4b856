"""REUSE.toml annotations (REUSE 3.3): which licence covers files that cannot carry a header."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Annotation:
    patterns: tuple[re.Pattern[str], ...]
    expression: str
    precedence: str  # "closest" (default), "aggregate" or "override"


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


def load_reuse_toml(root: Path) -> tuple[list[Annotation], str | None]:
    """The root REUSE.toml's annotations, and an error message if it cannot be read."""
    path = root / "REUSE.toml"
    if not path.is_file():
        return [], None
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return [], f"REUSE.toml is not valid TOML ({exc})"
    annotations: list[Annotation] = []
    for entry in data.get("annotations", []):
        if not isinstance(entry, dict):
            continue
        paths = entry.get("path", [])
        paths = [paths] if isinstance(paths, str) else paths
        expr = entry.get("SPDX-License-Identifier")
        if isinstance(expr, list):
            expr = " AND ".join(f"({e})" for e in expr)
        if not paths or not isinstance(expr, str):
            continue
        annotations.append(
            Annotation(
                tuple(glob_regex(str(p)) for p in paths),
                expr,
                str(entry.get("precedence", "closest")),
            )
        )
    return annotations, None


def annotation_for(annotations: list[Annotation], rel: str) -> Annotation | None:
    """The last matching annotation wins, as the specification says."""
    found = None
    for annotation in annotations:
        if any(p.match(rel) for p in annotation.patterns):
            found = annotation
    return found
