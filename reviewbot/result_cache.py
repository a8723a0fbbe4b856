"""Per-file scan results in Redis, shared by every worker and by `reviewbot scan --cache`.

A cache must never fail a scan: a Redis error (down, refused, timed out) reads as a miss or a
skipped store, logged once per cache, and Redis is then left alone for a while; a value that does
not decode is a miss. ``redis`` is imported when the first cache is built, so a scan that
configures none never loads it.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from checks.cache import CachedScan

if TYPE_CHECKING:
    import redis

KEY_PREFIX = "reviewbot:scan:"
DEFAULT_TTL = 30 * 24 * 3600  # seconds: a blob unseen for a month is scanned afresh
SOCKET_TIMEOUT = 2.0  # seconds: a slow Redis costs a scan little more than a miss
RETRY_AFTER = 30.0  # seconds after a failure without trying Redis: one outage, not one per file

log = logging.getLogger(__name__)


class RedisStore:
    """Text values under one key prefix, with a TTL; every Redis failure reads as a miss."""

    def __init__(self, redis_url: str, prefix: str, ttl: int) -> None:
        import redis as redis_lib

        self.prefix = prefix
        self.ttl = ttl
        self._client: redis.Redis = redis_lib.Redis.from_url(
            redis_url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
        )
        self._warned = False
        self._down_until = 0.0

    def get(self, key: str) -> bytes | None:
        if time.monotonic() < self._down_until:
            return None
        try:
            raw = self._client.get(self.prefix + key)
        except Exception as exc:  # a cache failure is a miss, never a failed review
            self._degrade("read", exc)
            return None
        return raw if isinstance(raw, bytes) else None

    def put(self, key: str, value: str) -> None:
        if time.monotonic() < self._down_until:
            return
        try:
            self._client.set(self.prefix + key, value, ex=self.ttl)
        except Exception as exc:
            self._degrade("write", exc)

    def _degrade(self, what: str, exc: Exception) -> None:
        self._down_until = time.monotonic() + RETRY_AFTER
        if not self._warned:
            self._warned = True
            log.warning("cache %s under %s failed, going on without it: %s", what, self.prefix, exc)


class RedisResultCache:
    """A :class:`checks.cache.ResultCache` in Redis: JSON under ``reviewbot:scan:``."""

    def __init__(self, redis_url: str, ttl: int = DEFAULT_TTL) -> None:
        self._store = RedisStore(redis_url, KEY_PREFIX, ttl)

    @property
    def ttl(self) -> int:
        return self._store.ttl

    def get(self, key: str) -> CachedScan | None:
        raw = self._store.get(key)
        if raw is None:
            return None
        try:
            return CachedScan.from_json(raw)
        except (ValueError, TypeError, KeyError):  # not ours, or from an older layout: a miss
            return None

    def put(self, key: str, scan: CachedScan) -> None:
        self._store.put(key, scan.to_json())
