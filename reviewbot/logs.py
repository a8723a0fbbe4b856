"""Structured (JSON-lines) logs with context bound per delivery, and secrets redacted."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_context: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "reviewbot_log_context", default=_EMPTY
)
_secrets: set[str] = set()
_REDACTED = "**********"
_MIN_SECRET = 6  # shorter "secrets" would redact ordinary words


@contextmanager
def bind(**fields: Any) -> Iterator[None]:
    """Attach ``fields`` (a delivery id, a task id) to every record logged inside the block."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def bound() -> Mapping[str, Any]:
    return _context.get()


def register_secret(value: str | None) -> None:
    """Never print ``value``: a last line of defence for a secret that slips into a message.

    Its JSON-escaped forms are registered too (a PEM key's newlines, quotes, backslashes and
    non-ASCII characters all change when encoded), so the encoded line is redacted as well.
    """
    if value and len(value) >= _MIN_SECRET:
        _secrets.update(
            {
                value,
                json.dumps(value)[1:-1],
                json.dumps(value, ensure_ascii=False)[1:-1],
                value.strip(),  # a PEM key quoted without its final newline
            }
            - {""}
        )


def redact(text: str) -> str:
    # longest first: a secret's escaped form contains fragments that a shorter one could split
    for secret in sorted(_secrets, key=len, reverse=True):
        if len(secret) >= _MIN_SECRET and secret in text:
            text = text.replace(secret, _REDACTED)
    return text


def _scrub(value: Any) -> Any:
    """``value`` with every secret in its strings redacted, before it is encoded."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact(str(k)): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, bound context, ``extra`` fields."""

    _SKIP = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(_context.get())
        entry.update({k: v for k, v in record.__dict__.items() if k not in self._SKIP})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        # redact before encoding, then the encoded line too (escaped forms are registered)
        return redact(json.dumps(_scrub(entry), default=str))


class _ContextFilter(logging.Filter):
    """Copy the bound context onto records so plain-text handlers can show it too."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def configure(level: str = "INFO") -> None:
    """Send ``reviewbot.*`` records to stderr as JSON lines, and only there (idempotent).

    The records do not propagate: a root handler (the CLI's plain-text one) would print them
    again, without redaction.
    """
    logger = logging.getLogger("reviewbot")
    logger.setLevel(level.upper())
    logger.propagate = False
    if any(getattr(h, "_reviewbot", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_ContextFilter())
    handler._reviewbot = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
