"""A worker step sweeping for check runs left in progress (reviewbot.sweep), one at a time."""

from __future__ import annotations

import logging
import threading
from typing import Any, ClassVar

import redis
from celery import bootsteps

from reviewbot import service
from reviewbot.models import ContributionRef
from reviewbot.queue import REVIEW_TASK, REVIEWS_QUEUE
from reviewbot.started_runs import RedisStartedRuns
from reviewbot.sweep import sweep

log = logging.getLogger("reviewbot.workers.sweeper")

SWEEPER_LOCK = "reviewbot:sweeper"


class StuckRunSweeper(bootsteps.StartStopStep):  # type: ignore[misc]
    """A consumer step: every ``reviewbot_sweep_interval`` seconds, whichever worker takes the
    cluster-wide turn (SET NX with a TTL) re-queues reviews whose runs are overdue."""

    requires: ClassVar[frozenset[str]] = frozenset({"celery.worker.consumer.tasks:Tasks"})

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, consumer: Any) -> None:
        app = consumer.app
        url = str(app.conf.broker_url or "")
        if not url.startswith(("redis://", "rediss://", "unix://")):
            return  # not the Redis transport: there are no records to sweep
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=_sweep_forever,
            args=(app, url, self._stop),
            name="reviewbot-sweeper",
            daemon=True,
        )
        self._thread.start()

    def stop(self, consumer: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    shutdown = stop


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
