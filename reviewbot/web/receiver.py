"""What every webhook route shares: the capped body read, dedup + submit, the JSON answer."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ParamSpec

import redis
from fastapi import Request
from fastapi.responses import JSONResponse

from reviewbot import dispatch
from reviewbot.composition import NO_RECORDER
from reviewbot.config import MAX_WEBHOOK_BYTES, Settings
from reviewbot.dedup import DeliveryLedger
from reviewbot.errors import BadLength as BadLength
from reviewbot.errors import TooLarge as TooLarge
from reviewbot.events import Decision, Outcome, RoutingPolicy
from reviewbot.history.recorder import Recorder

log = logging.getLogger(__name__)

P = ParamSpec("P")
ACCEPT_THREADS = 4

_SAFE_ID = re.compile(r"[^A-Za-z0-9._:-]")


def safe_id(value: str | None) -> str:
    """A header value fit for logs and keys: unverified input, so trimmed and restricted."""
    return _SAFE_ID.sub("", value or "")[:80]


async def read_body(request: Request, limit: int = MAX_WEBHOOK_BYTES) -> bytes:
    """Read the body; one over ``limit`` is refused before reading (declared) or while (chunked)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadLength
        if int(declared) > limit:
            raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def route_safely(route: Callable[P, Decision], *args: P.args, **kwargs: P.kwargs) -> Decision:
    """Route a verified payload; a shape the router trips on is a bad request, never a 500.

    Routing is pure (no I/O), so any exception it raises means the payload is not what the
    platform sends: a string where an object belongs (``AttributeError``), ``1e999`` as a
    number (``OverflowError``).
    """
    try:
        return route(*args, **kwargs)
    except Exception as exc:
        log.warning("payload the router cannot read", extra={"error": type(exc).__name__})
        return Decision(Outcome.BAD_REQUEST, f"unexpected payload shape ({type(exc).__name__})")


class Answer(JSONResponse):
    """A webhook answer that remembers its outcome for the deliveries metric."""

    outcome: Outcome


def answer(status: int, outcome: Outcome, note: str = "", **extra: Any) -> Answer:
    """The JSON every webhook answer carries; never a secret, never the payload."""
    body: dict[str, Any] = {"outcome": outcome.value}
    if note:
        body["detail"] = note
    body.update(extra)
    headers = {"Retry-After": "30"} if status == 503 else None
    response = Answer(body, status_code=status, headers=headers)
    response.outcome = outcome
    return response


@dataclass
class Receiver:
    """Per-app state the routes share."""

    settings: Settings
    policy: RoutingPolicy
    ledger: DeliveryLedger
    dispatcher: dispatch.Dispatcher
    redis: redis.Redis | None
    # Claims and publishes run here: a few threads, each keeping its own producer (see
    # dispatch.CeleryDispatcher), rather than the event loop's 40-thread default pool, where
    # 32 concurrent deliveries meant 32 threads taking turns on the GIL and a slower tail.
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(ACCEPT_THREADS, "reviewbot-accept")
    )
    # State changes (closed, merged, reopened) go to the history; handing over never waits.
    recorder: Recorder = NO_RECORDER

    async def accept(self, delivery_key: str, decision: Decision) -> tuple[int, Outcome, str]:
        """Claim the delivery, record its state changes, submit its jobs; (status, outcome,
        note) for the answer."""
        if not decision.submissions and not (decision.states and self.recorder.enabled):
            return 202, decision.outcome, decision.note
        # Redis and the Celery publish are blocking calls: keep them off the event loop. The
        # context goes along, so their log lines carry the delivery id bound around this call.
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.executor, context.run, self._accept_sync, delivery_key, decision
        )

    def close(self) -> None:
        self.executor.shutdown(wait=True)

    def _accept_sync(self, delivery_key: str, decision: Decision) -> tuple[int, Outcome, str]:
        try:
            if not self.ledger.claim(delivery_key):
                log.info("duplicate delivery ignored")
                return 202, Outcome.DUPLICATE, "delivery already accepted"
        except redis.RedisError as exc:
            log.error("dedup store unavailable", extra={"error": type(exc).__name__})
            return 503, Outcome.UNAVAILABLE, "the queue is unavailable; redeliver later"
        for update in decision.states:
            ref = update.ref
            at = update.at or datetime.now(UTC)
            self.recorder.set_state(ref.platform.value, ref.repo, ref.number, update.state, at)
        if not decision.submissions:
            return 202, decision.outcome, decision.note
        try:
            for sub in decision.submissions:
                self.dispatcher.submit(
                    sub.ref,
                    reason=sub.reason.value,
                    requested_by=sub.requested_by,
                    comment_id=sub.comment_id,
                    **({} if sub.accept is None else {"accept": sub.accept}),
                )
        except dispatch.DispatchError as exc:
            log.error("could not submit review", extra={"error": str(exc)})
            # Forget the claim so the sender's redelivery is not mistaken for a duplicate.
            try:
                self.ledger.release(delivery_key)
            except redis.RedisError:
                log.error("could not release the delivery claim")
            return 503, Outcome.UNAVAILABLE, "the queue is unavailable; redeliver later"
        return 202, Outcome.QUEUED, ""
