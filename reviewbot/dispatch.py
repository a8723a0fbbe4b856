"""Hand a review job to Celery (with ``REDIS_URL``) or to a bounded in-process pool (without).

``submit(ref, reason=..., requested_by=...)`` is the one entry point. With Redis it publishes the
task ``reviewbot.review`` by name on the ``reviews`` queue, kwargs = ``ref.to_dict()`` plus
``reason`` and ``requested_by`` (ids and strings only). Without Redis, the embedded default runs
``reviewbot.service.review_contribution`` on a small thread pool, so the app works without Redis.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Protocol

from reviewbot import logs, metrics, retry_policy
from reviewbot.coalesce import MemoryPending, pending_reviews
from reviewbot.errors import Busy as Busy
from reviewbot.errors import DispatchError as DispatchError
from reviewbot.errors import TransientError
from reviewbot.models import ContributionRef
from reviewbot.queue import REVIEW_TASK, REVIEWS_QUEUE, producer

log = logging.getLogger(__name__)

Runner = Callable[..., object]
"""``runner(ref, *, reason, requested_by)``; the embedded pool's review function."""
OnFailure = Callable[[ContributionRef, str], object]
"""``on_failure(ref, message)``: called when a job raised, so its verdict says so."""


class Dispatcher(Protocol):
    mode: str

    def submit(
        self,
        ref: ContributionRef,
        *,
        reason: str,
        requested_by: str | None = None,
        comment_id: int | None = None,
        accept: str | None = None,
    ) -> None: ...

    def close(self, *, wait: bool = True) -> None: ...


def _service_runner(
    ref: ContributionRef,
    *,
    reason: str,
    requested_by: str | None,
    comment_id: int | None = None,
    accept: str | None = None,
) -> object:
    # Imported on first use: the service pulls in the platform clients and the checks.
    from reviewbot.service import review_contribution

    return review_contribution(
        ref, reason=reason, requested_by=requested_by, comment_id=comment_id, accept=accept
    )


def _service_failure(ref: ContributionRef, message: str) -> object:
    from reviewbot.service import post_error_safely

    return post_error_safely(ref, message)


class CeleryDispatcher:
    """Publishes to Redis through a producer-only Celery app; no worker code is imported."""

    mode = "celery"

    def __init__(self, redis_url: str) -> None:
        self._app = producer(redis_url)
        self._pending = pending_reviews(redis_url)
        self._held = threading.local()  # this thread's _HeldProducer, once it has published
        self._all_held: set[_HeldProducer] = set()
        self._held_lock = threading.Lock()

    def submit(
        self,
        ref: ContributionRef,
        *,
        reason: str,
        requested_by: str | None = None,
        comment_id: int | None = None,
        accept: str | None = None,
    ) -> None:
        if not self._pending.claim(ref, recheck=reason == "recheck"):
            _coalesced(ref, self.mode)
            return
        kwargs: dict[str, Any] = {**ref.to_dict(), "reason": reason, "requested_by": requested_by}
        if comment_id is not None:  # only then: other messages keep their shape
            kwargs["comment_id"] = comment_id
        if accept is not None:
            kwargs["accept"] = accept
        try:
            self._publish(kwargs, ref.key)
        except Exception as exc:  # kombu and redis raise many kinds; all mean "not queued"
            self._pending.done(ref)
            raise DispatchError(f"could not enqueue {ref.display}: {type(exc).__name__}") from exc
        metrics.SUBMISSIONS.labels(ref.platform.value, reason, self.mode).inc()
        log.info("review queued", extra={"ref": ref.key, "reason": reason})

    def _publish(self, kwargs: dict[str, Any], key: str) -> None:
        """Send the task through this thread's kept producer; a failure drops the producer.

        A publish used to cost about 1 ms of CPU, most of it avoidable: a producer taken from
        the pool per message, a new Redis client per message in kombu's Redis transport, and
        ``saferepr`` of the arguments for a header nobody reads. So each publishing thread keeps
        one producer (kombu's are not thread-safe) inside an open publish batch, which holds one
        Redis client, flushed after each message; ``argsrepr``/``kwargsrepr`` say what the task
        is instead.
        """
        held: _HeldProducer | None = getattr(self._held, "producer", None)
        if held is None:
            held = _HeldProducer(self._app)
            self._held.producer = held
            with self._held_lock:
                self._all_held.add(held)
        try:
            self._app.send_task(
                REVIEW_TASK,
                kwargs=kwargs,
                queue=REVIEWS_QUEUE,
                headers={metrics.ENQUEUED_AT_HEADER: time.time()},
                producer=held.producer,
                argsrepr="()",
                kwargsrepr=key,
            )
            held.flush()
        except BaseException as exc:
            self._held.producer = None
            with self._held_lock:
                self._all_held.discard(held)
            held.close(exc)
            raise

    def close(self, *, wait: bool = True) -> None:
        with self._held_lock:
            held, self._all_held = self._all_held, set()
        for kept in held:
            kept.release()
        self._app.close()


class _HeldProducer:
    """One thread's producer on its own broker connection, inside a publish batch if kombu has
    them (5.7 and later); without, every message is still published at once."""

    def __init__(self, app: Any) -> None:
        self.connection = app.connection_for_write()
        try:
            self.producer = app.amqp.Producer(self.connection)
            batch = getattr(self.producer, "batch", None)
            self._batch = batch() if batch is not None else None
            if self._batch is not None:
                self._batch.__enter__()
        except BaseException:
            self.connection.release()
            raise

    def flush(self) -> None:
        if self._batch is not None:
            self._batch.flush()

    def close(self, exc: BaseException) -> None:
        """After a failed publish, in the thread that published: discard, then let go."""
        try:
            if self._batch is not None:
                self._batch.__exit__(type(exc), exc, exc.__traceback__)
        finally:
            self.connection.release()

    def release(self) -> None:
        """From any thread, at shutdown: the connection's release closes the batch's client too."""
        self.connection.release()


def _coalesced(ref: ContributionRef, mode: str) -> None:
    metrics.SUBMISSIONS.labels(ref.platform.value, "coalesced", mode).inc()
    log.info("re-check coalesced: a review is already queued or running", extra={"ref": ref.key})


@dataclass(frozen=True)
class _Job:
    ref: ContributionRef
    reason: str
    requested_by: str | None
    enqueued: float
    context: contextvars.Context
    attempt: int = 0
    comment_id: int | None = None
    accept: str | None = None


class InProcessDispatcher:
    """The embedded default: ``workers`` threads, at most ``max_pending`` jobs waiting or running.

    The bound keeps a burst of webhooks from queueing unbounded work in memory: past it,
    ``submit`` raises ``Busy`` and the receiver answers 503 so the delivery can be redelivered.
    """

    mode = "embedded"

    def __init__(
        self,
        runner: Runner | None = None,
        *,
        workers: int = 2,
        max_pending: int = 64,
        on_failure: OnFailure | None = None,
    ) -> None:
        """``on_failure`` defaults to posting an "error" verdict when ``runner`` is the service."""
        self._runner: Runner = runner or _service_runner
        self._on_failure = on_failure or (_service_failure if runner is None else None)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reviewbot-review")
        self._slots = threading.BoundedSemaphore(max_pending)
        self._pending = 0
        self._lock = threading.Lock()
        self._timers: set[threading.Timer] = set()
        self._closed = False
        self._marks = MemoryPending()  # contributions with a job waiting or running here

    @property
    def pending(self) -> int:
        return self._pending

    def submit(
        self,
        ref: ContributionRef,
        *,
        reason: str,
        requested_by: str | None = None,
        comment_id: int | None = None,
        accept: str | None = None,
    ) -> None:
        if not self._marks.claim(ref, recheck=reason == "recheck"):
            _coalesced(ref, self.mode)
            return
        if not self._slots.acquire(blocking=False):
            self._marks.done(ref)
            raise Busy(f"the embedded review pool is full; {ref.display} not queued")
        with self._lock:
            self._pending += 1
        # Copy the context so the job's logs still carry the delivery id that caused it.
        job = _Job(
            ref,
            reason,
            requested_by,
            time.monotonic(),
            contextvars.copy_context(),
            comment_id=comment_id,
            accept=accept,
        )
        try:
            self._start(job)
        except RuntimeError as exc:  # the pool is shutting down
            self._done(job)
            raise DispatchError("the embedded review pool is shut down") from exc
        metrics.SUBMISSIONS.labels(ref.platform.value, reason, self.mode).inc()
        log.info("review submitted in-process", extra={"ref": ref.key, "reason": reason})

    def _start(self, job: _Job) -> None:
        self._pool.submit(job.context.run, self._run, job)

    def _done(self, job: _Job) -> None:
        self._marks.done(job.ref)
        with self._lock:
            self._pending -= 1
        self._slots.release()

    def _run(self, job: _Job) -> None:
        """One attempt; a transient failure comes back later (the job keeps its slot)."""
        start = time.monotonic()
        if not job.attempt:
            metrics.QUEUE_LATENCY.labels("embedded").observe(start - job.enqueued)
        outcome, again = "ok", False
        with logs.bind(ref=job.ref.key, reason=job.reason, attempt=job.attempt):
            try:
                # the comment only when there is one: a runner need not know of reactions
                extra: dict[str, Any] = (
                    {} if job.comment_id is None else {"comment_id": job.comment_id}
                )
                if job.accept is not None:
                    extra["accept"] = job.accept
                self._runner(job.ref, reason=job.reason, requested_by=job.requested_by, **extra)
            except TransientError as exc:
                again = not retry_policy.is_last_attempt(job.attempt) and self._later(job, exc)
                outcome = "retry" if again else "error"
                if not again:
                    self._fail(
                        job, f"the review failed: still failing after {job.attempt} retries: {exc}"
                    )
            except Exception as exc:
                # A review that crashes must not take the pool down. Nothing retries it here, so
                # post an "error" verdict (best effort): an open check run would spin forever.
                outcome = "error"
                log.exception("review failed")
                self._fail(job, retry_policy.failure_message(exc))
            finally:
                metrics.TASK_SECONDS.labels(REVIEW_TASK, outcome).observe(time.monotonic() - start)
                if not again:
                    self._done(job)

    def _later(self, job: _Job, exc: TransientError) -> bool:
        """Schedule the job's next attempt, as the Celery task would retry; False if closed."""
        delay = retry_policy.countdown(job.attempt, exc.retry_after)
        log.warning("review retried in %.0f s: %s", delay, exc)
        timer = threading.Timer(delay, self._restart, args=(replace(job, attempt=job.attempt + 1),))
        timer.daemon = True
        with self._lock:
            if self._closed:
                return False
            self._timers.add(timer)
        timer.start()
        return True

    def _restart(self, job: _Job) -> None:
        with self._lock:
            self._timers = {t for t in self._timers if t is not threading.current_thread()}
        try:
            self._start(job)
        except RuntimeError:  # shut down meanwhile
            self._done(job)

    def _fail(self, job: _Job, message: str) -> None:
        if self._on_failure is None:
            return
        try:
            self._on_failure(job.ref, message)
        except Exception:
            log.exception("could not post the error verdict")

    def close(self, *, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


_current: Dispatcher | None = None
_current_lock = threading.Lock()


def configure(
    *,
    redis_url: str | None = None,
    runner: Runner | None = None,
    workers: int = 2,
    max_pending: int = 64,
) -> Dispatcher:
    """Install the process-wide dispatcher (closing the previous one) and return it.

    ``redis_url`` selects Celery; otherwise jobs run in-process with ``runner`` (by default
    ``reviewbot.service.review_contribution``, imported lazily).
    """
    global _current
    new: Dispatcher = (
        CeleryDispatcher(redis_url)
        if redis_url
        else InProcessDispatcher(runner, workers=workers, max_pending=max_pending)
    )
    with _current_lock:
        old, _current = _current, new
    if old is not None:
        old.close(wait=False)
    return new


def current() -> Dispatcher:
    """The configured dispatcher; the embedded default when nothing was configured."""
    with _current_lock:
        found = _current
    return found if found is not None else configure()


def submit(
    ref: ContributionRef,
    *,
    reason: str,
    requested_by: str | None = None,
    comment_id: int | None = None,
    accept: str | None = None,
) -> None:
    """Hand ``ref`` to whichever dispatcher is configured; raises ``DispatchError`` on failure."""
    extra = {} if accept is None else {"accept": accept}
    current().submit(ref, reason=reason, requested_by=requested_by, comment_id=comment_id, **extra)


def shutdown(*, wait: bool = True) -> None:
    """Close the configured dispatcher; with ``wait`` embedded jobs finish first."""
    global _current
    with _current_lock:
        old, _current = _current, None
    if old is not None:
        old.close(wait=wait)
