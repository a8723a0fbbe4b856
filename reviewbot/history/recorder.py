"""Write the history off the review's path: a bounded queue, one thread, retries with backoff.

The verdict is out before anything is handed here, and handing over never blocks: a database
that is down or slow costs the history its rows (logged, retried, and past the attempts given
up on), never a review its verdict. What is still queued at shutdown is flushed (``close``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from reviewbot.history.records import ContributionMeta, ReviewRecord

log = logging.getLogger(__name__)

MAX_PENDING = 1000  # writes waiting; past it new ones are dropped (and logged), never waited on
ATTEMPTS = 6
FIRST_WAIT = 0.5  # seconds before the second attempt; doubled each time up to MAX_WAIT
MAX_WAIT = 30.0
CLOSE_TIMEOUT = 10.0  # at shutdown, how long the queued writes may take


class HistoryWriter(Protocol):
    """The store's writes the recorder makes (``HistoryStore`` provides them)."""

    def record_review(self, meta: ContributionMeta, review: ReviewRecord) -> int: ...

    def set_state(
        self, platform: str, repo: str, number: int, state: str, at: datetime
    ) -> bool: ...


class Recorder(Protocol):
    """Where the service and the receiver hand what happened; no call here waits on a database."""

    enabled: bool  # False: nothing is kept, so callers need not gather anything

    def record(self, meta: ContributionMeta, review: ReviewRecord) -> None: ...

    def set_state(
        self, platform: str, repo: str, number: int, state: str, at: datetime
    ) -> None: ...

    def flush(self, timeout: float | None = None) -> bool: ...

    def close(self, timeout: float | None = None) -> None: ...


class NoRecorder:
    """The history is off (``REVIEWBOT_HISTORY=false``): everything is let go."""

    enabled = False

    def record(self, meta: ContributionMeta, review: ReviewRecord) -> None:
        return None

    def set_state(self, platform: str, repo: str, number: int, state: str, at: datetime) -> None:
        return None

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def close(self, timeout: float | None = None) -> None:
        return None


@dataclass(frozen=True)
class _Job:
    what: str  # for the logs: which contribution, what kind of write
    write: Callable[[HistoryWriter], object]


class HistoryRecorder:
    """Writes to the store ``open_store`` opens (lazily, on the recorder's own thread).

    ``where`` names the database in log lines, its password masked (``engine.safe_url``).
    """

    enabled = True

    def __init__(
        self,
        open_store: Callable[[], HistoryWriter],
        *,
        where: str = "",
        max_pending: int = MAX_PENDING,
        attempts: int = ATTEMPTS,
        first_wait: float = FIRST_WAIT,
        max_wait: float = MAX_WAIT,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.where = where
        self.attempts, self.first_wait, self.max_wait = attempts, first_wait, max_wait
        self._open_store = open_store
        self._store: HistoryWriter | None = None
        self._queue: queue.Queue[_Job | None] = queue.Queue(max_pending)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._closed = False
        self.written = self.dropped = self.failed = 0

    # -- handing over (never blocks) -----------------------------------------------------------

    def record(self, meta: ContributionMeta, review: ReviewRecord) -> None:
        what = f"review of {meta.platform}:{meta.repo}#{meta.number}@{review.head_sha[:12]}"
        self._submit(_Job(what, lambda store: store.record_review(meta, review)))

    def set_state(self, platform: str, repo: str, number: int, state: str, at: datetime) -> None:
        what = f"state {state} of {platform}:{repo}#{number}"

        def write(store: HistoryWriter) -> None:
            if not store.set_state(platform, repo, number, state, at):
                log.info("state change of a contribution never reviewed: not kept", extra=_x(what))

        self._submit(_Job(what, write))

    def _submit(self, job: _Job) -> None:
        with self._lock:
            if self._closed:
                log.warning("history closed: write dropped", extra=_x(job.what, self.where))
                self.dropped += 1
                return
            self._start()
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                self.dropped += 1
                log.error("history queue full: write dropped", extra=_x(job.what, self.where))
                return
            self._pending += 1

    def _start(self) -> None:
        # also after a fork: the child has the recorder but not its thread
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="reviewbot-history", daemon=True)
            self._thread.start()

    # -- waiting --------------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every write handed over so far is done (or given up); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, timeout: float | None = CLOSE_TIMEOUT) -> None:
        """Take no more writes, flush the queued ones for up to ``timeout`` seconds, stop."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is None or not thread.is_alive():
            return
        if not self.flush(timeout):
            with self._lock:
                lost = self._pending
            log.error(
                "history writes still pending at shutdown: %d lost", lost, extra=_x("", self.where)
            )
            return
        self._queue.put(None)
        thread.join(timeout)

    # -- the writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                self._write(job)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _write(self, job: _Job) -> None:
        for attempt in range(self.attempts):
            try:
                if self._store is None:
                    self._store = self._open_store()
                job.write(self._store)
                self.written += 1
                return
            except Exception as exc:  # any driver error; its text may quote data, so: the type
                error = type(exc).__name__
                if attempt + 1 >= self.attempts:
                    self.failed += 1
                    log.error(
                        "history write given up after %d attempts (%s)",
                        self.attempts,
                        error,
                        extra=_x(job.what, self.where, error=error),
                    )
                    return
                wait = min(self.max_wait, self.first_wait * 2**attempt)
                log.warning(
                    "history write failed (%s); again in %.1f s",
                    error,
                    wait,
                    extra=_x(job.what, self.where, error=error, attempt=attempt + 1),
                )
                time.sleep(wait)


def _x(what: str, where: str = "", **more: object) -> dict[str, object]:
    """A log record's extra fields: the write and the masked database name."""
    fields: dict[str, object] = {"write": what, **more}
    if where:
        fields["database"] = where
    return fields
