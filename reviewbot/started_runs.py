"""Check runs this service opened and has not closed yet, so none stays in progress forever.

``begin`` records the contribution (with its head) when it opens a run; the verdict or a
cancellation removes it. A worker that dies for good, a message lost with a Redis that restarted
without persistence, a bug: whatever leaves a record older than a review can take is found by
``reviewbot.sweep``, which queues the review again (its flow completes or cancels the run) and,
after a few such tries, posts an "error" verdict. Without Redis there is nothing to sweep: the
embedded pool lives and dies with the process that would hold the records.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Protocol, cast

import redis
from redis.exceptions import RedisError

from reviewbot.models import ContributionRef

log = logging.getLogger(__name__)

KEY = "reviewbot:started-runs"
TRIES_KEY = "reviewbot:started-runs:tries"


class StartedRuns(Protocol):
    def started(self, ref: ContributionRef) -> None: ...

    def finished(self, ref: ContributionRef) -> None: ...


class NoStartedRuns:
    """The embedded default: nothing outlives the process, nothing to record."""

    def started(self, ref: ContributionRef) -> None:
        return None

    def finished(self, ref: ContributionRef) -> None:
        return None


def _member(ref: ContributionRef) -> str:
    return json.dumps(ref.to_dict(), sort_keys=True)


class RedisStartedRuns:
    """A sorted set: member = the contribution at its head, score = when its run was opened."""

    def __init__(self, redis_url: str) -> None:
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)

    def started(self, ref: ContributionRef) -> None:
        try:
            # every attempt of a job refreshes the time: a job waiting out a retry is alive
            self._redis.zadd(KEY, {_member(ref): time.time()})
        except RedisError as exc:  # a missing record only loses the safety net, not the review
            log.warning("could not record the started run: %s", type(exc).__name__)

    def finished(self, ref: ContributionRef) -> None:
        try:
            member = _member(ref)
            self._redis.zrem(KEY, member)
            self._redis.hdel(TRIES_KEY, member)
        except RedisError as exc:
            log.warning("could not clear the started run: %s", type(exc).__name__)

    def overdue(self, older_than: float, *, now: float | None = None) -> list[ContributionRef]:
        """Runs opened more than ``older_than`` seconds ago and still not closed."""
        cutoff = (time.time() if now is None else now) - older_than
        members = cast(list[bytes], self._redis.zrangebyscore(KEY, "-inf", cutoff))
        refs = []
        for raw in members:
            try:
                refs.append(ContributionRef.from_dict(json.loads(raw)))
            except (ValueError, KeyError, TypeError):
                self._redis.zrem(KEY, raw)  # not ours to read: drop it rather than loop on it
        return refs

    def retried(self, ref: ContributionRef) -> int:
        """Count one more sweep of ``ref`` and restart its clock; returns the count."""
        member = _member(ref)
        tries = int(self._redis.hincrby(TRIES_KEY, member, 1))
        self._redis.zadd(KEY, {member: time.time()}, xx=True)
        return tries
