"""Remember webhook deliveries already accepted, so a redelivery never enqueues twice.

A delivery is *claimed* (set-if-absent with a TTL) before its jobs are submitted and *released*
if submitting fails, so the sender's redelivery can still get through.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Protocol

import redis

KEY_PREFIX = "reviewbot:delivery:"


class DeliveryLedger(Protocol):
    def claim(self, delivery_id: str) -> bool:
        """True the first time ``delivery_id`` is seen within the TTL, False afterwards."""
        ...

    def release(self, delivery_id: str) -> None:
        """Forget a claim whose jobs could not be submitted."""
        ...


class RedisLedger:
    """``SET key 1 NX EX ttl``: atomic across every web process sharing the Redis."""

    def __init__(self, client: redis.Redis, ttl_seconds: int) -> None:
        self._client = client
        self._ttl = ttl_seconds

    def claim(self, delivery_id: str) -> bool:
        return bool(self._client.set(KEY_PREFIX + delivery_id, b"1", nx=True, ex=self._ttl))

    def release(self, delivery_id: str) -> None:
        self._client.delete(KEY_PREFIX + delivery_id)


class MemoryLedger:
    """The embedded default: one process, a bounded TTL set (oldest claims dropped first)."""

    def __init__(self, ttl_seconds: int, *, max_entries: int = 100_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()  # id -> expiry, oldest first
        self._lock = threading.Lock()

    def claim(self, delivery_id: str) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._seen:
                oldest, expiry = next(iter(self._seen.items()))
                if expiry > now and len(self._seen) < self._max:
                    break
                del self._seen[oldest]
            if delivery_id in self._seen:
                return False
            self._seen[delivery_id] = now + self._ttl
            return True

    def release(self, delivery_id: str) -> None:
        with self._lock:
            self._seen.pop(delivery_id, None)
