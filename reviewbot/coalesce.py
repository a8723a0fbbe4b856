"""Re-checks of a contribution whose review is already queued or running are not queued again.

A maintainer (or a script) asking a hundred times would otherwise queue a hundred full reviews
ahead of everybody else's pull requests. Every submitted job marks its contribution pending
(with a TTL, in case its worker never finishes); a re-check that finds the mark is answered as
coalesced: the review under way reads the head when it writes, so its verdict is the one the
re-check asked for. The review clears the mark once it is done, retries included.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from typing import Protocol

import redis
from redis.exceptions import RedisError

from reviewbot.models import ContributionRef
from reviewbot.publish_lock import lock_key

log = logging.getLogger(__name__)

PENDING_TTL = 1200  # seconds: past a review's hard time limit, so a lost mark frees itself
PREFIX = "reviewbot:pending:"


class PendingReviews(Protocol):
    def claim(self, ref: ContributionRef, *, recheck: bool) -> bool:
        """Mark ``ref`` pending; False when ``recheck`` and it already was (coalesce it)."""
        ...

    def done(self, ref: ContributionRef) -> None:
        """The review of ``ref`` finished (or gave up): a new re-check is queued again."""
        ...


class MemoryPending:
    """The embedded pool's marks, in this process."""

    def __init__(self, ttl: float = PENDING_TTL) -> None:
        self._ttl = ttl
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def claim(self, ref: ContributionRef, *, recheck: bool) -> bool:
        key, now = lock_key(ref), time.monotonic()
        with self._lock:
            if recheck and self._until.get(key, 0.0) > now:
                return False
            self._until[key] = now + self._ttl
        return True

    def done(self, ref: ContributionRef) -> None:
        with self._lock:
            self._until.pop(lock_key(ref), None)


class RedisPending:
    """Marks shared by the web processes that queue and the workers that review."""

    def __init__(self, redis_url: str, ttl: int = PENDING_TTL) -> None:
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._ttl = ttl

    def claim(self, ref: ContributionRef, *, recheck: bool) -> bool:
        try:
            return bool(self._redis.set(PREFIX + lock_key(ref), b"1", nx=recheck, ex=self._ttl))
        except RedisError as exc:
            # coalescing saves work; it must never lose a re-check: queue it anyway
            log.warning("pending marks unavailable (%s): not coalescing", type(exc).__name__)
            return True

    def done(self, ref: ContributionRef) -> None:
        try:
            self._redis.delete(PREFIX + lock_key(ref))
        except RedisError as exc:
            log.warning("could not clear the pending mark (%s); it expires", type(exc).__name__)


@functools.lru_cache(maxsize=4)
def pending_reviews(redis_url: str) -> RedisPending:
    """The marks in ``redis_url``'s Redis, one client per process (the embedded pool keeps its
    own in a ``MemoryPending``)."""
    return RedisPending(redis_url)
