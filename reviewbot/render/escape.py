"""Make untrusted text (file names, messages quoting file content) inert in Markdown."""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~@])")


def md(text: str, limit: int = 300) -> str:
    """Escape Markdown and HTML metacharacters, fold newlines, and cap the length."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _SPECIAL.sub(r"\\\1", text)


def code(text: str, limit: int = 200) -> str:
    """Inline code that a hostile name cannot break out of (a pipe would split a table cell)."""
    text = " ".join(text.split()).replace("|", "\\|")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
