"""A worker step that runs one daemon thread beside the consumer, and stops it with the worker."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

from celery import bootsteps

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def redis_broker_url(app: Any) -> str | None:
    """The broker URL when the broker is Redis (tests may run an in-memory one), else None."""
    url = str(app.conf.broker_url or "")
    return url if url.startswith(REDIS_SCHEMES) else None


class BackgroundStep(bootsteps.StartStopStep):  # type: ignore[misc]
    """Subclasses say what the thread runs (``work``); None: nothing to do with this broker."""

    requires: ClassVar[frozenset[str]] = frozenset({"celery.worker.consumer.tasks:Tasks"})
    thread_name: ClassVar[str] = "reviewbot-background"

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def work(self, consumer: Any, stop: threading.Event) -> Callable[[], None] | None:
        raise NotImplementedError

    def start(self, consumer: Any) -> None:
        self._stop = threading.Event()
        target = self.work(consumer, self._stop)
        if target is None:
            return
        self._thread = threading.Thread(target=target, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, consumer: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    shutdown = stop
