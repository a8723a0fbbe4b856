"""Celery tasks: ids and strings in, a call to reviewbot.service, a JSON-safe outcome out."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from reviewbot import logs, metrics, service
from reviewbot.errors import PlatformError, TransientError
from reviewbot.models import ContributionRef
from workers.app import (
    EVALS_HARD_LIMIT,
    EVALS_QUEUE,
    EVALS_SOFT_LIMIT,
    MAX_COUNTDOWN,
    REVIEW_HARD_LIMIT,
    REVIEW_SOFT_LIMIT,
    REVIEWS_QUEUE,
    app,
)

log = logging.getLogger("reviewbot.workers")
_F = TypeVar("_F", bound=Callable[..., Any])

# Shared by both tasks: transient platform errors retry with exponential backoff and full jitter
# (1, 2, 4 … 600 s); a rate limit with a known reset retries with that countdown instead.
_RETRY: dict[str, Any] = {
    "autoretry_for": (TransientError,),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


def _task(**options: Any) -> Callable[[_F], _F]:
    """``app.task`` with a type: Celery ships no annotations, and callers use task names."""
    return cast(Callable[[_F], _F], app.task(**options))


@_task(
    bind=True,
    name="reviewbot.review",
    queue=REVIEWS_QUEUE,
    soft_time_limit=REVIEW_SOFT_LIMIT,
    time_limit=REVIEW_HARD_LIMIT,
    **_RETRY,
)
def review(
    self: Task, *, reason: str = "review", requested_by: str | None = None, **ref: Any
) -> dict[str, Any]:
    """Weight scan, licence check and tier-1 evals of one contribution; posts the verdict."""
    contribution = ContributionRef.from_dict(ref)
    with _running(self, "reviewbot.review", REVIEWS_QUEUE, contribution):
        try:
            outcome = service.review_contribution(
                contribution, reason=reason, requested_by=requested_by
            )
        except SoftTimeLimitExceeded:
            outcome = service.post_error(
                contribution, f"the review ran past its {REVIEW_SOFT_LIMIT} s time limit"
            )
        except TransientError as exc:
            if _last_attempt(self):
                _give_up(
                    self, contribution, f"still failing after {self.request.retries} retries: {exc}"
                )
                raise
            _retry_after(self, exc)
            raise
        except Exception as exc:  # not retried: this attempt was the last
            # a platform error's text is written for users; anything else may hold internals
            why = (
                str(exc)
                if isinstance(exc, PlatformError)
                else f"an internal error ({type(exc).__name__})"
            )
            _give_up(self, contribution, why)
            raise
    return outcome.to_dict()


@_task(
    bind=True,
    name="reviewbot.evals",
    queue=EVALS_QUEUE,
    soft_time_limit=EVALS_SOFT_LIMIT,
    time_limit=EVALS_HARD_LIMIT,
    **_RETRY,
)
def evals(
    self: Task, *, reason: str = "review", requested_by: str | None = None, **ref: Any
) -> dict[str, Any]:
    """Tier-2 evals (torch) on their own queue; see service.evaluate_contribution."""
    contribution = ContributionRef.from_dict(ref)
    with _running(self, "reviewbot.evals", EVALS_QUEUE, contribution):
        try:
            outcome = service.evaluate_contribution(contribution, reason=reason)
        except TransientError as exc:
            _retry_after(self, exc)
            raise
    return outcome.to_dict()


def _last_attempt(task: Task) -> bool:
    """Whether a failure now is final: Celery retries no more past ``max_retries``."""
    limit = task.max_retries
    return limit is not None and int(task.request.retries or 0) >= int(limit)


def _give_up(task: Task, ref: ContributionRef, why: str) -> None:
    """The review finally failed: post an "error" verdict so no check run stays in progress."""
    log.error("task %s for %s failed for good: %s", task.name, ref.display, why)
    service.post_error_safely(ref, f"the review failed: {why}")


def _retry_after(task: Task, exc: TransientError) -> None:
    """Retry with the platform's own wait (a rate-limit reset) rather than the backoff."""
    if exc.retry_after is not None:
        countdown = min(MAX_COUNTDOWN, exc.retry_after) + 1  # +1: the reset's second is fuzzy
        raise task.retry(exc=exc, countdown=countdown)


@contextmanager
def _running(task: Task, name: str, queue: str, ref: ContributionRef) -> Iterator[None]:
    request = task.request
    enqueued = _enqueued_at(request)
    if enqueued is not None and not request.retries:
        metrics.QUEUE_LATENCY.labels(queue=queue).observe(max(0.0, time.time() - enqueued))
    started = time.monotonic()
    outcome = "error"
    with logs.bind(task_id=request.id, task=name, attempt=request.retries):
        try:
            yield
            outcome = "ok"
        finally:
            metrics.TASK_SECONDS.labels(task=name, outcome=outcome).observe(
                time.monotonic() - started
            )
            log.debug("task %s for %s: %s", name, ref.display, outcome)


def _enqueued_at(request: Any) -> float | None:
    """The enqueue time the dispatcher puts in a message header (see reviewbot.metrics)."""
    value = getattr(request, metrics.ENQUEUED_AT_HEADER, None)
    if value is None and isinstance(getattr(request, "headers", None), dict):
        value = request.headers.get(metrics.ENQUEUED_AT_HEADER)
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
