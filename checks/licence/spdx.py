"""SPDX expressions via license-expression, which raises on some malformed input: caught here."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from license_expression import Licensing, get_spdx_licensing

_REF = re.compile(r"^(DocumentRef-[A-Za-z0-9.\-]+:)?LicenseRef-[A-Za-z0-9.\-]+$")
_TOKEN = re.compile(r"[^\s()]+")
_OPERATORS = frozenset({"and", "or", "with"})


@dataclass(frozen=True)
class Expression:
    """One checked expression. ``normalized`` is None when it is not valid SPDX."""

    text: str
    normalized: str | None
    errors: tuple[str, ...] = ()
    deprecated: tuple[tuple[str, str], ...] = ()
    parsed: Any = None

    @property
    def valid(self) -> bool:
        return self.normalized is not None and not self.errors


@cache
def licensing() -> Licensing:
    return get_spdx_licensing()


@cache
def check_expression(text: str) -> Expression:
    """Validate and normalise; cached because a tree repeats the same few expressions."""
    text = text.strip()
    if not text:
        return Expression(text, None, ("the expression is empty",))
    spdx = licensing()
    try:
        parsed = spdx.parse(text)
    except Exception as exc:  # license-expression raises AttributeError etc. on some input
        return Expression(text, None, (_reason(exc),))
    if parsed is None:
        return Expression(text, None, ("the expression is empty",))
    unknown = [
        key
        for key in (sym.key for sym in spdx.license_symbols(parsed, unique=True, decompose=True))
        if key not in spdx.known_symbols and not _REF.match(key)
    ]
    if unknown:
        return Expression(text, None, (f"unknown licence id(s): {', '.join(unknown)}",))
    return Expression(text, parsed.render(), (), _deprecated(text), parsed)


def _reason(exc: Exception) -> str:
    message = str(exc).strip()
    if isinstance(exc, AttributeError) or not message:
        return "an operator without a licence on both sides"
    return message


def _deprecated(text: str) -> tuple[tuple[str, str], ...]:
    """Ids that license-expression silently maps to a new one, like GPL-2.0+ → GPL-2.0-or-later."""
    spdx = licensing()
    found: list[tuple[str, str]] = []
    for token in _TOKEN.findall(text):
        if token.lower() in _OPERATORS or _REF.match(token) or token in spdx.known_symbols:
            continue
        try:
            parsed = spdx.parse(token)
        except Exception:  # noqa: S112 - a token that does not parse alone is not an alias
            continue
        if parsed is not None and parsed.render().lower() != token.lower():
            found.append((token, parsed.render()))
    return tuple(found)


def satisfied_by(expression: Expression, allowed: Iterable[str]) -> bool:
    """Whether some choice within the expression uses only allowed licences (case-insensitive)."""
    if expression.parsed is None:
        return False
    ok = {a.lower() for a in allowed}
    spdx = licensing()

    def walk(node: Any) -> bool:
        if isinstance(node, spdx.AND):
            return all(walk(arg) for arg in node.args)
        if isinstance(node, spdx.OR):
            return any(walk(arg) for arg in node.args)
        symbol = getattr(node, "license_symbol", node)
        return str(symbol.key).lower() in ok

    return walk(expression.parsed)


def licence_ids(expression: Expression) -> frozenset[str]:
    if expression.parsed is None:
        return frozenset()
    spdx = licensing()
    return frozenset(
        str(s.key)
        for s in spdx.license_symbols(expression.parsed, unique=True, decompose=True)
        if not getattr(s, "is_exception", False)
    )


@cache
def _hub_table() -> dict[str, str | None]:
    raw = resources.files("checks.licence").joinpath("hub_licences.json").read_text("utf-8")
    return {row["id"]: row["spdx_id"] for row in json.loads(raw)["licenses"]}


def hub_ids() -> frozenset[str]:
    return frozenset(_hub_table())


def hub_to_spdx(hub_id: str) -> str:
    """The SPDX id for a Hub licence id; ids with none become ``LicenseRef-<id>``."""
    spdx_id = _hub_table().get(hub_id.lower())
    if spdx_id is None:
        return f"LicenseRef-{hub_id}"
    current = check_expression(spdx_id)
    return current.normalized or spdx_id
