"""Installation access tokens, cached per process until shortly before GitHub expires them."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Refresh an installation token this long before GitHub expires it (tokens live an hour).
TOKEN_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: datetime


# One cache per worker process: every task for an installation reuses the token until it expires.
_TOKENS: dict[tuple[str, int, int], _Token] = {}
_TOKENS_LOCK = threading.Lock()


def cached_token(key: tuple[str, int, int]) -> str | None:
    """The token for (API host, App id, installation id), unless it expires soon."""
    with _TOKENS_LOCK:
        found = _TOKENS.get(key)
    if found is not None and found.expires_at - TOKEN_MARGIN > datetime.now(UTC):
        return found.value
    return None


def keep_token(key: tuple[str, int, int], value: str, expires_at: datetime) -> None:
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    with _TOKENS_LOCK:
        _TOKENS[key] = _Token(value, expires_at)


def clear_token_cache() -> None:
    """Forget every token (one revoked early, or tests that need a fresh start)."""
    with _TOKENS_LOCK:
        _TOKENS.clear()
