"""One review of a contribution writes to its platform at a time: a short lock per contribution.

Two jobs for the same pull request (a push and a ``/reviewbot recheck`` at the same moment, a
redelivered message beside its first delivery) would otherwise both find no verdict yet and both
create one. The lock is held only around the writes (opening the check run, posting the
verdict), never during the review itself, and it expires on its own (``LOCK_TTL``) if its holder
dies. With ``REDIS_URL`` it lives in Redis (redis-py's ``Lock``: a random token set with NX and
a TTL, released only by its owner), so every worker process and machine shares it; without Redis
the embedded pool shares a lock in this process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Protocol

import redis
from redis.exceptions import LockError, RedisError

from reviewbot.errors import TransientError
from reviewbot.models import ContributionRef

LOCK_TTL = 120.0  # seconds: longer than any publish (a few API calls); a dead holder's lapses
LOCK_WAIT = 90.0  # how long a second writer waits before its job retries later
PREFIX = "reviewbot:publish:"


def lock_key(ref: ContributionRef) -> str:
    """The contribution, whatever its head: repository names are case-insensitive."""
    return f"{ref.platform.value}:{ref.repo.casefold()}#{ref.number}"


class PublishLocks(Protocol):
    def hold(self, ref: ContributionRef) -> AbstractContextManager[None]:
        """Hold the contribution's lock; raises TransientError when it stays taken."""
        ...


class LocalLocks:
    """Locks for the jobs of one process (the embedded pool, the CLI)."""

    def __init__(self, wait: float = LOCK_WAIT) -> None:
        self._wait = wait
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, ref: ContributionRef) -> Iterator[None]:
        key = lock_key(ref)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        if not lock.acquire(timeout=self._wait):
            raise TransientError(f"another review of {ref.display} is still publishing")
        try:
            yield
        finally:
            lock.release()


class RedisLocks:
    """Locks shared by every process on one Redis."""

    def __init__(self, redis_url: str, *, ttl: float = LOCK_TTL, wait: float = LOCK_WAIT) -> None:
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=10, socket_connect_timeout=5)
        self._ttl, self._wait = ttl, wait

    @contextmanager
    def hold(self, ref: ContributionRef) -> Iterator[None]:
        # thread_local=False: the token is the lock's own, whichever thread releases it
        lock = self._redis.lock(
            PREFIX + lock_key(ref),
            timeout=self._ttl,
            blocking_timeout=self._wait,
            thread_local=False,
        )
        try:
            acquired = lock.acquire()
        except RedisError as exc:
            raise TransientError(f"the publish lock is unavailable: {type(exc).__name__}") from exc
        if not acquired:
            raise TransientError(f"another review of {ref.display} is still publishing")
        try:
            yield
        finally:
            # expired, or Redis went away: the TTL frees it either way
            with suppress(LockError, RedisError):
                lock.release()
