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
    """Never print ``value``: a last line of defence for a secret that slips into a message."""
    if value and len(value) >= _MIN_SECRET:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, _REDACTED)
    return text


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
        return redact(json.dumps(entry, default=str))


class _ContextFilter(logging.Filter):
    """Copy the bound context onto records so plain-text handlers can show it too."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def configure(level: str = "INFO") -> None:
    """Send ``reviewbot.*`` records to stderr as JSON lines (idempotent)."""
    logger = logging.getLogger("reviewbot")
    logger.setLevel(level.upper())
    if any(getattr(h, "_reviewbot", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_ContextFilter())
    handler._reviewbot = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
