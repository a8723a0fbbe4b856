"""The Celery app: Redis broker from REDIS_URL, JSON only, late acks, two queues."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_shutdown, worker_shutdown
from kombu.entity import Queue

from reviewbot import retry_policy
from reviewbot.config import ConfigError, load_settings
from reviewbot.queue import EVALS_QUEUE, EVALS_TASK, REVIEW_TASK, REVIEWS_QUEUE
from workers.leases import LeaseRenewal
from workers.sweeper import StuckRunSweeper

# Time limits (seconds). Reviews download and scan (a few GB at most); evals run torch.
REVIEW_SOFT_LIMIT = 900
REVIEW_HARD_LIMIT = 960
EVALS_SOFT_LIMIT = 3300
EVALS_HARD_LIMIT = 3600
# Redis hands an unacknowledged message out again once it has gone this long without its
# worker renewing it (workers/leases.py). Renewal, not a timeout longer than every task, is what
# keeps a slow review from running twice, so this can be short: a SIGKILLed worker's review is
# redelivered within VISIBILITY_TIMEOUT + one sweep, not hours later.
VISIBILITY_TIMEOUT = 300
# Seconds between the sweeps that hand out lapsed messages (kombu runs one every
# interval x throttle seconds).
RESTORE_SWEEP_INTERVAL = 10
RESTORE_SWEEP_THROTTLE = 3
# A check run still open this long after its job last started an attempt has no live job: the
# hard limit, the longest backoff between two attempts, and a minute to spare.
STUCK_RUN_AFTER = REVIEW_HARD_LIMIT + retry_policy.BACKOFF_CAP + 60
STUCK_RUN_SWEEP_INTERVAL = 60


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
        broker_transport_options={
            "visibility_timeout": VISIBILITY_TIMEOUT,
            "unacked_restore_interval": RESTORE_SWEEP_INTERVAL,
            "unacked_restore_throttle": RESTORE_SWEEP_THROTTLE,
            # A half-open connection after a Redis restart is noticed, not waited on forever.
            "health_check_interval": 25,
            "socket_keepalive": True,
            "retry_on_timeout": True,
        },
        # Keep reconnecting however long Redis is away; the default gives up after 100 tries
        # and the worker exits for good.
        broker_connection_max_retries=None,
        broker_connection_retry=True,
        # A review running when Redis restarts finishes and posts its verdict. Cancelling it
        # (Celery 6's default) loses it whenever Redis restarts without persistence, since its
        # message went with the old process; an acknowledgement that then fails is harmless.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        task_queues=_queues(),
        task_default_queue=REVIEWS_QUEUE,
        task_routes={
            REVIEW_TASK: {"queue": REVIEWS_QUEUE},
            EVALS_TASK: {"queue": EVALS_QUEUE},
        },
        worker_hijack_root_logger=False,
        task_track_started=False,
        reviewbot_sweep_interval=STUCK_RUN_SWEEP_INTERVAL,
        reviewbot_sweep_after=STUCK_RUN_AFTER,
    )
    app.steps["consumer"].add(LeaseRenewal)
    app.steps["consumer"].add(StuckRunSweeper)
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


def _flush_history(**_: Any) -> None:
    """A pool process leaves through ``os._exit`` (no atexit): write the history it queued."""
    from reviewbot.composition import close_recorders

    close_recorders()


worker_init.connect(_require_broker)
worker_process_shutdown.connect(_flush_history)  # prefork pool children
worker_shutdown.connect(_flush_history)  # the solo and threads pools: the main process
