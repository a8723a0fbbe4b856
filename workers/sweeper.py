"""A worker step sweeping for check runs left in progress (reviewbot.sweep), one at a time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import redis

from reviewbot import service
from reviewbot.models import ContributionRef
from reviewbot.queue import REVIEW_TASK, REVIEWS_QUEUE
from reviewbot.started_runs import RedisStartedRuns
from reviewbot.sweep import sweep
from workers.background import BackgroundStep, redis_broker_url

log = logging.getLogger("reviewbot.workers.sweeper")

SWEEPER_LOCK = "reviewbot:sweeper"


class StuckRunSweeper(BackgroundStep):
    """A consumer step: every ``reviewbot_sweep_interval`` seconds, whichever worker takes the
    cluster-wide turn (SET NX with a TTL) re-queues reviews whose runs are overdue."""

    thread_name = "reviewbot-sweeper"

    def work(self, consumer: Any, stop: threading.Event) -> Callable[[], None] | None:
        app = consumer.app
        url = redis_broker_url(app)
        if url is None:
            return None  # not the Redis transport: there are no records to sweep
        return lambda: _sweep_forever(app, url, stop)


def _sweep_forever(app: Any, url: str, stop: threading.Event) -> None:
    every = float(app.conf.reviewbot_sweep_interval)
    after = float(app.conf.reviewbot_sweep_after)
    client = redis.Redis.from_url(url, socket_timeout=10)
    runs = RedisStartedRuns(url)

    def requeue(ref: ContributionRef) -> None:
        app.send_task(
            REVIEW_TASK, kwargs={**ref.to_dict(), "reason": "review"}, queue=REVIEWS_QUEUE
        )

    def give_up(ref: ContributionRef, why: str) -> None:
        service.post_error_safely(ref, f"the review failed: {why}")

    while not stop.wait(every):
        try:
            if not client.set(SWEEPER_LOCK, b"1", nx=True, ex=max(1, int(every))):
                continue  # another worker sweeps this round
            sweep(runs, older_than=after, requeue=requeue, give_up=give_up)
        except Exception as exc:  # Redis restarting, the broker away: the next round tries again
            log.warning("sweep failed: %s", type(exc).__name__)
