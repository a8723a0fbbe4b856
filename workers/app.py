"""The Celery app: Redis broker from REDIS_URL, JSON only, late acks, two queues."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_init
from kombu.entity import Queue

from reviewbot.config import ConfigError, load_settings

REVIEWS_QUEUE = "reviews"
EVALS_QUEUE = "evals"

# Time limits (seconds). Reviews download and scan (a few GB at most); evals run torch.
REVIEW_SOFT_LIMIT = 900
REVIEW_HARD_LIMIT = 960
EVALS_SOFT_LIMIT = 3300
EVALS_HARD_LIMIT = 3600
# A retry never waits longer than this (a rate-limit reset is at most an hour away).
MAX_COUNTDOWN = 3600
# Redis hands an unacknowledged message to another worker after this long. With late acks that
# covers a running task (and a retry's countdown, held unacked until its ETA), so it must outlast
# the longest hard time limit and the longest countdown, or a slow task would run twice.
VISIBILITY_TIMEOUT = 2 * max(EVALS_HARD_LIMIT, MAX_COUNTDOWN)


def create_app(redis_url: str | None = None) -> Celery:
    """The app; ``redis_url`` defaults to the REDIS_URL setting (checked when a worker starts)."""
    url = redis_url if redis_url is not None else load_settings().redis_url
    app = Celery("reviewbot", include=["workers.tasks"])
    app.conf.update(
        broker_url=url,
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,  # outcomes are posted on the platform and logged, not stored
        task_acks_late=True,  # a task killed mid-review is delivered again ...
        task_reject_on_worker_lost=True,  # ... also when its worker process dies
        worker_prefetch_multiplier=1,  # long tasks: never hold messages another worker could run
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        task_queues=_queues(),
        task_default_queue=REVIEWS_QUEUE,
        task_routes={
            "reviewbot.review": {"queue": REVIEWS_QUEUE},
            "reviewbot.evals": {"queue": EVALS_QUEUE},
        },
        worker_hijack_root_logger=False,
        task_track_started=False,
    )
    return app


def _queues() -> tuple[Queue, ...]:
    return (Queue(REVIEWS_QUEUE), Queue(EVALS_QUEUE))  # type: ignore[no-untyped-call]


app = create_app()


def _require_broker(sender: Any = None, **_: Any) -> None:
    """A worker without REDIS_URL is a configuration mistake: say so before consuming."""
    if not app.conf.broker_url:
        raise ConfigError(
            "missing required setting: REDIS_URL (a worker needs the Redis broker; without it "
            "`reviewbot serve` reviews in-process)"
        )
    from reviewbot import logs

    logs.configure(load_settings().reviewbot_log_level)


worker_init.connect(_require_broker)
