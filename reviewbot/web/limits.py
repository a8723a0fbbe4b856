"""ASGI middleware bounding request bodies: size, time, and bytes held across all requests."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

REFUSED = Counter(
    "reviewbot_receiver_refused_total",
    "Requests the receiver cut or refused before any route saw them, by reason.",
    ["reason"],
)


class BodyLimits:
    """Read each body in full, within bounds, before the app runs; then hand it over whole.

    * A body over ``max_bytes`` is 413: before one byte is read when ``Content-Length`` says so,
      as soon as the count passes it when it is chunked.
    * All bodies being read or held by requests in flight share ``budget_bytes``. A request whose
      declared length (or, chunked, whose next chunk) would go past it is answered 503 with
      ``Retry-After``: memory stays bounded however many senders there are, which matters
      because nothing is authenticated until the whole body has been read.
    * A body not complete ``timeout`` seconds after its headers is 408 and the connection closes.

    The bytes stay reserved until the app has answered, since until then it holds them.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        budget_bytes: int,
        timeout: float,
        retry_after: int = 5,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.budget_bytes = budget_bytes
        self.timeout = timeout
        self.retry_after = str(retry_after).encode()
        # One event loop per process: plain arithmetic between awaits needs no lock.
        self.held = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = _framing(scope["headers"])
        if (declared is None and not chunked) or declared == 0:
            await self.app(scope, receive, send)  # no body (GET /healthz, /metrics)
            return
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send, 413, "too_large", self._too_large())
            return
        hold = _Hold()
        if not self._take(hold, declared or 0):
            await self._busy(send)
            return
        try:
            body = await self._read(receive, send, hold)
            if body is not None:
                await self.app(scope, _replay(body, receive), send)
        finally:
            self.held -= hold.bytes

    def _take(self, hold: _Hold, grow: int) -> bool:
        if self.held + grow > self.budget_bytes:
            return False
        self.held += grow
        hold.bytes += grow
        return True

    async def _read(self, receive: Receive, send: Send, hold: _Hold) -> bytes | None:
        """The whole body, or None once the sender has been answered (or has gone)."""
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    chunk: bytes = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_bytes:
                        await self._refuse(send, 413, "too_large", self._too_large())
                        return None
                    # A chunked body reserves its bytes as they arrive.
                    if size > hold.bytes and not self._take(hold, size - hold.bytes):
                        await self._busy(send)
                        return None
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            chunks.clear()
        detail = f"request body not received within {self.timeout:g} s"
        await self._refuse(send, 408, "timeout", detail, close=True)
        return None

    def _too_large(self) -> str:
        return f"payload over {self.max_bytes // (1024 * 1024)} MB"

    async def _busy(self, send: Send) -> None:
        await self._refuse(
            send,
            503,
            "unavailable",
            "too many request bodies in flight; retry later",
            extra=[(b"retry-after", self.retry_after)],
        )

    async def _refuse(
        self,
        send: Send,
        status: int,
        reason: str,
        detail: str,
        *,
        close: bool = False,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        REFUSED.labels(reason).inc()
        log.info("request refused", extra={"status": status, "why": detail})
        body = json.dumps({"outcome": reason, "detail": detail}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *(extra or []),
        ]
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _Hold:
    """The bytes one request has reserved from the budget."""

    __slots__ = ("bytes",)

    def __init__(self) -> None:
        self.bytes = 0


def _framing(headers: Any) -> tuple[int | None, bool]:
    """(Content-Length, chunked?) from the raw ASGI headers; the server has checked the syntax."""
    declared: int | None = None
    chunked = False
    for name, value in headers:
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                declared = None
        elif name == b"transfer-encoding":
            chunked = True
    return declared, chunked


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` giving the app the body in one message, then the real channel (disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
