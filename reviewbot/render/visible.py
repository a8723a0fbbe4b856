"""Output is valid UTF-8: bytes of a file name that decode to nothing are shown as ``\\xNN``."""

from __future__ import annotations

import re
from typing import Any

from checks.report import Report

# Python decodes undecodable name bytes to lone surrogates (surrogateescape); UTF-8 has none.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    point = ord(match.group())
    if 0xDC80 <= point <= 0xDCFF:  # the byte surrogateescape hid: show the byte
        return f"\\x{point - 0xDC00:02x}"
    return f"\\u{point:04x}"


def visible(text: str) -> str:
    """``text`` with every lone surrogate written out as a visible escape."""
    return _LONE_SURROGATE.sub(_escape, text)


def visible_data(data: Any) -> Any:
    """The same JSON-like structure with every string (keys included) made visible."""
    if isinstance(data, str):
        return visible(data)
    if isinstance(data, dict):
        return {visible_data(k): visible_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [visible_data(v) for v in data]
    return data


def visible_report(report: Report) -> Report:
    """A copy of ``report`` that every renderer can encode as UTF-8."""
    return Report.from_dict(visible_data(report.to_dict()))
