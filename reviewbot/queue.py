"""A producer-only Celery app: the web side enqueues by task name and never imports workers."""

from __future__ import annotations

from typing import Any

from celery import Celery

REVIEW_TASK = "reviewbot.review"
EVALS_TASK = "reviewbot.evals"
REVIEWS_QUEUE = "reviews"
EVALS_QUEUE = "evals"


def producer(redis_url: str) -> Any:
    """A Celery instance configured only to publish JSON messages to ``redis_url``."""
    app = Celery("reviewbot-producer", broker=redis_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=REVIEWS_QUEUE,
        broker_connection_retry_on_startup=True,
        # Fail an enqueue quickly when Redis is away: the webhook then answers 503 and the
        # sender may redeliver, instead of holding the request for the library's default retries.
        broker_transport_options={"socket_connect_timeout": 2, "socket_timeout": 5},
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.1,
            "interval_max": 0.2,
        },
    )
    return app
