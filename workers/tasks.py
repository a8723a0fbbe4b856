"""Celery tasks: ids and strings in, a call to reviewbot.service, a JSON-safe outcome out."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from celery import Task
from celery.exceptions import Retry, SoftTimeLimitExceeded

from reviewbot import logs, metrics, retry_policy, service
from reviewbot.coalesce import pending_reviews
from reviewbot.errors import TransientError
from reviewbot.models import ContributionRef
from reviewbot.queue import EVALS_QUEUE, EVALS_TASK, REVIEW_TASK, REVIEWS_QUEUE
from workers.app import (
    EVALS_HARD_LIMIT,
    EVALS_SOFT_LIMIT,
    REVIEW_HARD_LIMIT,
    REVIEW_SOFT_LIMIT,
    app,
)
from workers.background import redis_broker_url

log = logging.getLogger("reviewbot.workers")
_F = TypeVar("_F", bound=Callable[..., Any])

# Shared by both tasks; transient platform errors retry as reviewbot.retry_policy says.
_RETRY: dict[str, Any] = {
    "max_retries": retry_policy.MAX_RETRIES,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


def _task(**options: Any) -> Callable[[_F], _F]:
    """``app.task`` with a type: Celery ships no annotations, and callers use task names."""
    return cast(Callable[[_F], _F], app.task(**options))


@_task(
    bind=True,
    name=REVIEW_TASK,
    queue=REVIEWS_QUEUE,
    soft_time_limit=REVIEW_SOFT_LIMIT,
    time_limit=REVIEW_HARD_LIMIT,
    **_RETRY,
)
def review(
    self: Task,
    *,
    reason: str = "review",
    requested_by: str | None = None,
    comment_id: int | None = None,
    accept: str | None = None,
    **ref: Any,
) -> dict[str, Any]:
    """Weight scan, licence check and tier-1 evals of one contribution; posts the verdict."""
    contribution = ContributionRef.from_dict(ref)
    with _running(self, REVIEW_TASK, REVIEWS_QUEUE, contribution), _pending(contribution):
        try:
            outcome = service.review_contribution(
                contribution,
                reason=reason,
                requested_by=requested_by,
                comment_id=comment_id,
                accept=accept,
            )
        except SoftTimeLimitExceeded:
            outcome = service.post_error(
                contribution, f"the review ran past its {REVIEW_SOFT_LIMIT} s time limit"
            )
        except TransientError as exc:
            if _last_attempt(self):
                retries = self.request.retries
                _give_up(
                    self,
                    contribution,
                    f"the review failed: still failing after {retries} retries: {exc}",
                )
                raise
            _retry(self, exc)
        except Exception as exc:  # not retried: this attempt was the last
            _give_up(self, contribution, retry_policy.failure_message(exc))
            raise
    return outcome.to_dict()


@_task(
    bind=True,
    name=EVALS_TASK,
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
    with _running(self, EVALS_TASK, EVALS_QUEUE, contribution):
        try:
            outcome = service.evaluate_contribution(contribution, reason=reason)
        except TransientError as exc:
            if _last_attempt(self):
                raise
            _retry(self, exc)
    return outcome.to_dict()


def _last_attempt(task: Task) -> bool:
    """Whether a failure now is final: no retry is left in the policy's budget."""
    return retry_policy.is_last_attempt(int(task.request.retries or 0))


def _give_up(task: Task, ref: ContributionRef, message: str) -> None:
    """The review finally failed: post an "error" verdict so no check run stays in progress."""
    log.error("task %s for %s failed for good: %s", task.name, ref.display, message)
    service.post_error_safely(ref, message)


def _retry(task: Task, exc: TransientError) -> None:
    """Retry after the platform's own wait (a rate-limit reset) or the policy's backoff."""
    countdown = retry_policy.countdown(int(task.request.retries or 0), exc.retry_after)
    log.warning("retrying in %.0f s: %s", countdown, exc)
    raise task.retry(exc=exc, countdown=countdown)


@contextmanager
def _pending(ref: ContributionRef) -> Iterator[None]:
    """Clear the contribution's pending mark (reviewbot.coalesce) once this job is final: a
    re-check asked for from now on is queued again. A retry keeps it."""
    retrying = False
    try:
        yield
    except Retry:
        retrying = True
        raise
    finally:
        url = redis_broker_url(app)
        if url is not None and not retrying:
            pending_reviews(url).done(ref)


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
