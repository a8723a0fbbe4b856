"""Machine-readable text fixes: a finding that can be fixed by editing text says exactly how."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from checks.findings import Finding

# The key a fix travels under in ``Finding.extra`` (JSON-safe, so cached reports keep it).
FIX_KEY = "text_fix"
# PEP 263: an encoding declaration must stay on line 1 or 2, so a header goes below it.
_ENCODING = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+")


@dataclass(frozen=True, slots=True)
class Fix:
    """Replace line ``line`` (1-based, whose text is ``old``) of ``path`` with ``new``.

    ``new`` may span several lines: inserting a line is replacing its neighbour with both,
    which is also how a GitHub suggestion on one line works. ``line == 0`` creates the file
    (or fills an empty one) with ``new``: there is no line to anchor on.
    """

    path: str
    line: int
    old: str
    new: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "old": self.old, "new": self.new}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fix:
        return cls(str(data["path"]), int(data["line"]), str(data["old"]), str(data["new"]))


def fix_of(finding: Finding) -> Fix | None:
    """The finding's text fix, if it has one (a malformed one is ignored, never raised)."""
    data = finding.extra.get(FIX_KEY)
    if not isinstance(data, Mapping):
        return None
    try:
        return Fix.from_dict(data)
    except (KeyError, TypeError, ValueError):
        return None


def fixes_of(findings: Iterable[Finding]) -> list[Fix]:
    """Every distinct text fix, one per line: two that add lines below the same line are merged
    (a GitHub suggestion replaces its line once); otherwise the first wins, and the other comes
    back from the next review."""
    seen: dict[tuple[str, int], Fix] = {}
    for finding in findings:
        fix = fix_of(finding)
        if fix is None:
            continue
        key = (fix.path, fix.line)
        known = seen.get(key)
        if known is None:
            seen[key] = fix
        elif known.old == fix.old and fix.new != known.new:
            below = fix.old + "\n"
            if known.new.startswith(below) and fix.new.startswith(below):
                seen[key] = Fix(fix.path, fix.line, fix.old, known.new + fix.new[len(fix.old) :])
    return sorted(seen.values(), key=lambda f: (f.path, f.line))


def insert_line(path: str, text: str, line: str, *, after: int) -> Fix:
    """A fix adding ``line`` below the first ``after`` lines of ``text`` (0: at the top)."""
    lines = text.splitlines()
    if not lines:
        return Fix(path, 0, "", line)
    if after <= 0:
        return Fix(path, 1, lines[0], f"{line}\n{lines[0]}")
    anchor = min(after, len(lines))
    return Fix(path, anchor, lines[anchor - 1], f"{lines[anchor - 1]}\n{line}")


def header_position(text: str) -> int:
    """How many leading lines a licence header goes below: a shebang, an encoding line, an XML
    declaration, or Markdown front matter must stay first."""
    lines = text.splitlines()
    if not lines:
        return 0
    if lines[0] == "---":
        closing = next((i for i, ln in enumerate(lines[1:], 1) if ln.strip() == "---"), None)
        return closing + 1 if closing is not None else 0
    after = 0
    if lines[0].startswith(("#!", "<?xml")):
        after = 1
    if after < len(lines) and after < 2 and _ENCODING.match(lines[after]):
        after += 1
    return after


def apply_fixes(files: Mapping[str, str | None], fixes: Iterable[Fix]) -> dict[str, str]:
    """The new text of every file a fix changes (None: the file does not exist yet).

    A fix whose ``old`` no longer matches its line is skipped: the file changed since the
    review, and a stale edit must never overwrite what the contributor wrote meanwhile.
    """
    out: dict[str, str] = {}
    by_path: dict[str, list[Fix]] = {}
    for fix in fixes:
        by_path.setdefault(fix.path, []).append(fix)
    for path, group in by_path.items():
        text = files.get(path)
        if text is None or text == "":
            create = next((f for f in group if f.line == 0), None)
            if create is not None:
                out[path] = create.new + "\n"
            continue
        lines = text.splitlines(keepends=True)
        changed = False
        for fix in sorted(group, key=lambda f: f.line, reverse=True):  # bottom up: lines stay put
            if fix.line < 1 or fix.line > len(lines):
                continue
            current = lines[fix.line - 1]
            body = current.rstrip("\r\n")
            if body != fix.old:
                continue
            ending = current[len(body) :] or "\n"
            lines[fix.line - 1] = fix.new.replace("\n", ending) + ending
            changed = True
        if changed:
            out[path] = "".join(lines)
    return out
