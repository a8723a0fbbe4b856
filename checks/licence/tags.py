"""Finding `SPDX-License-Identifier:` tags in text, the way REUSE reads them from comments."""

from __future__ import annotations

import re
from dataclasses import dataclass

from checks.licence.comments import TAG

# Lenient on purpose: a misspelt tag is reported with the fix rather than taken as "no header".
_TAG = re.compile(
    r"^(?P<before>[^\n]*?)(?P<tag>SPDX[-_ ]Licen[cs]e[-_ ]Identifier)[ \t]*(?P<colon>:?)"
    r"(?P<rest>[^\n]*)$",
    re.IGNORECASE | re.MULTILINE,
)
_LETTER = re.compile(r"[^\W\d_]")
_CLOSERS = ("*/", "-->", "#}", "*)", "%>", "%}", '"""', "'''", "]]", "=end")


@dataclass(frozen=True)
class Tag:
    line: int  # 1-based
    expression: str
    canonical: bool  # written exactly as `SPDX-License-Identifier:`
    raw: str


def find_tags(text: str) -> list[Tag]:
    """Tags that open a comment: only comment marks or punctuation before them on the line."""
    tags: list[Tag] = []
    for match in _TAG.finditer(text):
        if _LETTER.search(match.group("before")):
            continue  # prose that mentions the tag, not a tag
        expression = strip_closers(match.group("rest"))
        canonical = match.group("tag") + match.group("colon") == TAG
        line = text.count("\n", 0, match.start()) + 1
        tags.append(Tag(line, expression, canonical, match.group(0).strip()))
    return tags


def strip_closers(rest: str) -> str:
    expression = rest.strip()
    changed = True
    while changed:
        changed = False
        for closer in _CLOSERS:
            if expression.endswith(closer):
                expression = expression[: -len(closer)].rstrip()
                changed = True
    return expression
