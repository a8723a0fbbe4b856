"""uvicorn's h11 protocol with deadlines: a sender that trickles headers or a body is cut.

uvicorn has a keep-alive timeout between requests and nothing else: a connection that never
sends, or sends one header byte a second, or a body one byte a second, is held forever (each
byte re-arms nothing, and the keep-alive timer is cancelled by the first byte of a request).
Here every request has two deadlines, enforced by one timer on the event loop:

* the headers must be complete ``header_timeout`` seconds after the connection opens, or after
  the first byte of the next request on a kept-alive connection: else 408 (if anything came)
  and the connection closes;
* the body must be complete ``body_timeout`` seconds after the headers: the ASGI middleware
  (``reviewbot.web.limits``) answers 408 at that deadline, and this timer closes the connection
  a moment later whatever the app did, e.g. a body still trickling after an early 401.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from reviewbot.web.limits import REFUSED

log = logging.getLogger(__name__)

BODY_GRACE = 1.0  # seconds the middleware gets to answer 408 before the connection is cut

_HEADERS_408 = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: 36\r\n\r\nrequest headers not received in time"
)


class DeadlineH11Protocol(H11Protocol):
    """``H11Protocol`` plus the header and body deadlines; pass it as ``uvicorn.Config(http=)``.

    The class attributes are the defaults; ``deadline_protocol`` makes a subclass with others.
    """

    header_timeout: float = 5.0
    body_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._phase = ""  # "headers", "body" or "" (no deadline running)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm("headers", self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._phase and self.conn.their_state is h11.IDLE:
            # The first byte of another request on a kept-alive connection.
            self._arm("headers", self.header_timeout)
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            if self._phase == "headers":
                self._arm("body", self.body_timeout + BODY_GRACE)
        elif state is not h11.IDLE:
            self._disarm()  # the request is complete (or the connection is done with)

    def _arm(self, phase: str, seconds: float) -> None:
        self._disarm()
        self._phase = phase
        self._timer = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._phase = ""

    def _expired(self) -> None:
        phase, self._timer, self._phase = self._phase, None, ""
        if self.transport.is_closing():
            return
        REFUSED.labels(f"{phase}_timeout").inc()
        log.info("slow sender cut", extra={"phase": phase, "client": _client(self.client)})
        started = self.cycle is not None and not self.cycle.response_complete
        if phase == "headers" and not started and self.conn.trailing_data[0]:
            # Part of a request came: say why before closing. h11 cannot send a response to a
            # request it has not parsed, so these bytes are written as they are.
            self.transport.write(_HEADERS_408)
        self.transport.close()


def deadline_protocol(*, header_timeout: float, body_timeout: float) -> type[DeadlineH11Protocol]:
    """A ``DeadlineH11Protocol`` subclass with these deadlines; uvicorn makes one per connection."""
    return type(
        "DeadlineH11Protocol",
        (DeadlineH11Protocol,),
        {"header_timeout": header_timeout, "body_timeout": body_timeout},
    )


def _client(addr: tuple[str, int] | None) -> str:
    return f"{addr[0]}:{addr[1]}" if addr else ""
