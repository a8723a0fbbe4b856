"""Text-format SavedModels (saved_model.pbtxt): the op names TensorFlow would run, graded by
saved_model_ops.toml; paths and attributes are not parsed, and a finding says so."""

from __future__ import annotations

import codecs
import re

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource
from checks.weights.context import ScanContext
from checks.weights.saved_model import OP
from checks.weights.saved_model_rules import rules

TEXT_FORMAT = "saved-model-text"


def scan_saved_model_text(source: ByteSource, ctx: ScanContext) -> None:
    """A ``saved_model.pbtxt`` (protobuf text format): only its op names are graded, so its
    paths, attributes and Keras metadata go unchecked, and a finding says so."""
    limit = ctx.limits.max_config_bytes
    if source.size > limit:
        raise LimitExceeded(f"text-format SavedModel of {source.size} bytes")
    text = source.read_at(0, source.size).decode("utf-8", "replace")
    table = rules()
    found = {op for op in map(_unescape, _TEXT_OP.findall(text)) if op in table.dangerous}
    for op in sorted(found, key=lambda o: (-table.dangerous[o].severity, o)):
        danger = table.dangerous[op]
        ctx.report(OP, danger.severity, f"runs {op} ({danger.category}): {danger.reason}")
    ctx.report(
        TEXT_FORMAT,
        Severity.MEDIUM,
        "a text-format SavedModel: its op names were checked, its paths, attributes and Keras "
        "metadata were not (TensorFlow itself writes saved_model.pb)",
    )


# `op: "Name"` (or 'Name'); the text format allows C escapes, so "Write\106ile" is WriteFile.
_TEXT_OP = re.compile(r"""\bop\s*:\s*(?:"((?:[^"\\\n]|\\.){1,400})"|'((?:[^'\\\n]|\\.){1,400})')""")


def _unescape(match: tuple[str, str]) -> str:
    raw = match[0] or match[1]
    if "\\" not in raw:
        return raw
    try:
        decoded: bytes = codecs.escape_decode(raw.encode("utf-8"))[0]
    except ValueError:
        return raw
    return decoded.decode("utf-8", "replace")
