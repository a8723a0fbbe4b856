"""The receiver's bounds, on real sockets: slow senders are cut, bodies share a memory budget."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from reviewbot import dispatch
from reviewbot.web import create_app
from tests.service.web_helpers import Recorder, make_settings, request, serve

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
BUDGET = 1 << 20  # 1 MiB for every body in flight together, and the largest single body
HEAD = b"POST /webhooks/github HTTP/1.1\r\nHost: test\r\nX-GitHub-Event: ping\r\n"


@pytest.fixture
def addr() -> Iterator[tuple[str, int]]:
    settings = make_settings(
        reviewbot_header_timeout_seconds=HEADER_TIMEOUT,
        reviewbot_body_timeout_seconds=BODY_TIMEOUT,
        reviewbot_max_body_bytes=BUDGET,
        reviewbot_body_budget_bytes=BUDGET,
    )
    dispatcher = dispatch.configure(runner=Recorder(), workers=1, max_pending=4)
    with serve(create_app(settings, dispatcher=dispatcher)) as hostport:
        host, port = hostport.split(":")
        yield host, int(port)
    dispatcher.close()


def trickle(sock: socket.socket, data: bytes, *, every: float, limit: float) -> tuple[bytes, float]:
    """Send ``data`` a byte at a time until the server answers or hangs up; (reply, seconds)."""
    started = time.monotonic()
    for i in range(len(data)):
        readable, _, _ = select.select([sock], [], [], every)
        if readable:
            break
        try:
            sock.sendall(data[i : i + 1])
        except OSError:
            break
        if time.monotonic() - started > limit:
            raise AssertionError(f"still connected after {limit} s of trickling")
    return read_all(sock), time.monotonic() - started


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    sock.settimeout(10)
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def read_response(sock: socket.socket) -> bytes:
    """One whole response (headers and a Content-Length body) from a kept-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(header(data, b"content-length") or 0)
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else 0


def header(reply: bytes, name: bytes) -> bytes | None:
    head = reply.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


def test_headers_trickled_byte_by_byte_are_cut_with_408(addr: tuple[str, int]) -> None:
    with socket.create_connection(addr, timeout=10) as sock:
        reply, seconds = trickle(sock, HEAD * 50, every=0.1, limit=10)
    assert status_of(reply) == 408
    assert HEADER_TIMEOUT - 0.2 < seconds < HEADER_TIMEOUT + 1.5


def test_a_connection_that_sends_nothing_is_closed(addr: tuple[str, int]) -> None:
    started = time.monotonic()
    with socket.create_connection(addr, timeout=10) as sock:
        reply = read_all(sock)
    assert reply == b""  # nothing was asked, so nothing is answered
    assert time.monotonic() - started < HEADER_TIMEOUT + 1.5


def test_a_trickled_body_is_answered_408(addr: tuple[str, int]) -> None:
    with socket.create_connection(addr, timeout=10) as sock:
        sock.sendall(HEAD + b"Content-Length: 500\r\n\r\n")
        reply, seconds = trickle(sock, b"x" * 500, every=0.1, limit=10)
    assert status_of(reply) == 408
    assert b"request body not received within 1 s" in reply
    assert seconds < BODY_TIMEOUT + 1.5


def test_a_body_still_trickling_after_an_early_answer_is_cut(addr: tuple[str, int]) -> None:
    """A body declared too large is answered 413 before it is read; the sender must not keep
    the connection by trickling the rest of it anyway."""
    started = time.monotonic()
    answers = b""
    with socket.create_connection(addr, timeout=10) as sock:
        sock.sendall(HEAD + b"Content-Length: %d\r\n\r\n" % (BUDGET + 1))
        while time.monotonic() - started < 10:
            try:
                sock.sendall(b"x")
                readable, _, _ = select.select([sock], [], [], 0.1)
                if readable:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break  # closed by the server
                    answers += chunk
            except OSError:
                break  # reset by the server
    assert status_of(answers) == 413
    assert time.monotonic() - started < BODY_TIMEOUT + 2.5


def test_a_kept_alive_connection_cannot_trickle_its_next_request(addr: tuple[str, int]) -> None:
    with socket.create_connection(addr, timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        assert status_of(read_response(sock)) == 200
        again = b"GET /healthz HTTP/1.1\r\nHost: test\r\n" * 20
        reply, seconds = trickle(sock, again, every=0.1, limit=10)
    assert status_of(reply) == 408
    assert seconds < HEADER_TIMEOUT + 1.5


def open_body(addr: tuple[str, int], length: int, *, chunked: bool = False) -> socket.socket:
    sock = socket.create_connection(addr, timeout=10)
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % length
    sock.sendall(HEAD + b"X-GitHub-Delivery: d\r\n" + framing + b"\r\n\r\n")
    return sock


def answered(sock: socket.socket, wait: float = 2.0) -> bytes:
    readable, _, _ = select.select([sock], [], [], wait)
    return read_response(sock) if readable else b""


@pytest.fixture
def sockets() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def test_bodies_past_the_budget_get_503_with_retry_after(
    addr: tuple[str, int], sockets: ExitStack
) -> None:
    part = BUDGET * 3 // 4
    holder = sockets.enter_context(open_body(addr, part))
    holder.sendall(b"x" * (part // 2))  # half a body, held open
    time.sleep(0.2)
    refused = sockets.enter_context(open_body(addr, part))
    reply = answered(refused)
    assert status_of(reply) == 503
    assert header(reply, b"retry-after") is not None
    assert b'"outcome": "unavailable"' in reply
    # The held body completes and is answered as usual (here: unsigned, so 401) ...
    holder.sendall(b"x" * (part - part // 2))
    assert status_of(answered(holder)) == 401
    # ... which frees its share: the same body now gets through to the route.
    again = sockets.enter_context(open_body(addr, part))
    again.sendall(b"x" * part)
    assert status_of(answered(again)) == 401


def test_chunked_bodies_are_counted_against_the_budget_as_they_arrive(
    addr: tuple[str, int], sockets: ExitStack
) -> None:
    chunk = b"x" * (BUDGET // 4)
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    holder = sockets.enter_context(open_body(addr, 0, chunked=True))
    holder.sendall(frame * 3)  # 3/4 of the budget, unfinished
    time.sleep(0.2)
    other = sockets.enter_context(open_body(addr, 0, chunked=True))
    other.sendall(frame)
    assert answered(other, 0.5) == b""  # a quarter still fits
    other.sendall(frame)
    reply = answered(other)
    assert status_of(reply) == 503
    assert header(reply, b"retry-after") is not None
    holder.sendall(b"0\r\n\r\n")
    assert status_of(answered(holder)) == 401


def test_one_body_over_the_cap_is_refused_before_it_is_read(addr: tuple[str, int]) -> None:
    with open_body(addr, BUDGET + 1) as sock:
        reply = answered(sock)
    assert status_of(reply) == 413
    assert b"too_large" in reply


def test_ordinary_requests_are_untouched(addr: tuple[str, int]) -> None:
    host, port = addr
    answer: Any = request(f"{host}:{port}", "GET", "/healthz")
    assert answer.status == 200
