"""Make untrusted text (file names, messages quoting file content) inert in Markdown."""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")
# GitHub links ``@name`` after Markdown is rendered, so a backslash does not stop a mention (or a
# team ping); a word joiner after the sign does, and reads the same.
_MENTION = "@\u2060"
# What GitHub would turn into a link by itself; quoted contributor text must not be clickable.
_AUTOLINK = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)\S+")


def md(text: str, limit: int = 300) -> str:
    """Escape Markdown and HTML metacharacters, fold newlines, cap the length, and put URLs in
    code spans (never autolinked)."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    out: list[str] = []
    last = 0
    for match in _AUTOLINK.finditer(text):
        out += [_plain(text[last : match.start()]), code(match.group())]
        last = match.end()
    out.append(_plain(text[last:]))
    return "".join(out)


def _plain(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", text).replace("@", _MENTION)


def code(text: str, limit: int = 200) -> str:
    """Inline code that a hostile name cannot break out of (a pipe would split a table cell)."""
    text = " ".join(text.split()).replace("|", "\\|")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
