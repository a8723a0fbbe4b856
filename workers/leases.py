"""Lease renewal: a live worker keeps its unacknowledged messages; a dead one's come back soon.

Redis has no consumer liveness: a message delivered with late acks stays in kombu's
``unacked_index`` sorted set, scored by delivery time, until it is acknowledged, and any worker's
sweep hands it out again once its score is older than the visibility timeout. A long timeout
(hours, to outlast the longest task) leaves a SIGKILLed worker's review stuck that long; a short
one runs slow reviews twice. So the timeout is short and each worker re-scores the messages it
holds every ``visibility_timeout / 5`` seconds: while it lives they never look abandoned, and
once it dies they are redelivered within one timeout plus one sweep.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from workers.background import BackgroundStep

log = logging.getLogger("reviewbot.workers.leases")

RENEWALS_PER_TIMEOUT = 5  # a renewal may fail a few times (a Redis blip) before a lease lapses


class LeaseRenewal(BackgroundStep):
    """A consumer step: one daemon thread re-scoring this worker's unacked messages."""

    thread_name = "reviewbot-lease-renewal"

    def work(self, consumer: Any, stop: threading.Event) -> Callable[[], None] | None:
        channel = consumer.task_consumer.channel
        qos = getattr(channel, "qos", None)
        if getattr(channel, "unacked_index_key", None) is None or qos is None:
            return None  # not the Redis transport (an in-memory broker in tests): nothing to renew
        timeout = float(channel.visibility_timeout)
        key = (getattr(channel, "global_keyprefix", "") or "") + channel.unacked_index_key
        client = redis.Redis.from_url(consumer.app.conf.broker_url, socket_timeout=10)
        every = timeout / RENEWALS_PER_TIMEOUT
        return lambda: _renew_forever(client, key, qos, every, stop)


def _renew_forever(
    client: redis.Redis, key: str, qos: Any, every: float, stop: threading.Event
) -> None:
    while not stop.wait(every):
        try:
            renew(client, key, held_tags(qos))
        except redis.RedisError as exc:  # Redis restarting: the next round tries again
            log.warning("lease renewal failed: %s", exc)


def held_tags(qos: Any) -> list[str]:
    """Delivery tags this worker holds and has not acknowledged yet."""
    delivered = getattr(qos, "_delivered", {})
    dirty: set[Any] = getattr(qos, "_dirty", set())
    try:
        return [str(tag) for tag in list(delivered) if tag not in dirty]
    except RuntimeError:  # changed while copied: the next round sees it
        return []


def renew(client: redis.Redis, key: str, tags: list[str]) -> int:
    """Move the tags' delivery time to now; XX: an acknowledged tag is never brought back."""
    if not tags:
        return 0
    now = time.time()
    changed = client.zadd(key, dict.fromkeys(tags, now), xx=True, ch=True)
    return int(changed or 0)
