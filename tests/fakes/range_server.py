"""A loopback file server that honours HTTP ``Range`` (or, when told, ignores it) and counts."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")
_COPY = 1 << 20


@dataclass
class RangeServer:
    """Files under ``root`` at ``/<path>``; ``/redirect/<path>`` answers 302 to ``redirect_to``.

    ``requests`` logs (method, path, Range header, whether Authorization came) per request;
    ``bytes_served`` counts body bytes sent. Faults: ``breaks`` cuts the next bodies off
    halfway, ``statuses`` answers the next requests with those statuses instead.
    """

    root: Path
    base: str = ""
    ignore_range: bool = False
    redirect_to: str = ""
    breaks: int = 0  # the next N answers with a body send half of it and hang up
    statuses: list[int] = field(default_factory=list)  # the next answers' statuses, in turn
    requests: list[tuple[str, str, str | None, bool]] = field(default_factory=list)
    bytes_served: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.bytes_served = 0

    def count(self, n: int) -> None:
        with self._lock:
            self.bytes_served += n


def _handler(server: RangeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def do_HEAD(self) -> None:
            self._serve(head=True)

        def do_GET(self) -> None:
            self._serve(head=False)

        def _serve(self, head: bool) -> None:
            path = unquote(urlsplit(self.path).path).lstrip("/")
            ranged = self.headers.get("Range")
            with server._lock:
                server.requests.append(
                    (self.command, path, ranged, "Authorization" in self.headers)
                )
            if path.startswith("redirect/"):
                self.send_response(302)
                self.send_header(
                    "Location", f"{server.redirect_to}/{path.removeprefix('redirect/')}"
                )
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            with server._lock:
                status = server.statuses.pop(0) if server.statuses else None
                broken = server.breaks > 0 and not head
                if broken:
                    server.breaks -= 1
            if status is not None:
                self._empty(status)
                return
            file = (server.root / path).resolve()
            if server.root.resolve() not in file.parents or not file.is_file():
                self._empty(404)
                return
            size = file.stat().st_size
            start, end = 0, size
            match = _RANGE.match(ranged or "")
            if match and not server.ignore_range:
                start = int(match.group(1))
                end = min(size, int(match.group(2)) + 1) if match.group(2) else size
                if start >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
            else:
                self.send_response(200)
                self.send_header("Accept-Ranges", "none" if server.ignore_range else "bytes")
            self.send_header("Content-Length", str(end - start))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if head:
                return
            with file.open("rb") as f:
                f.seek(start)
                left = end - start
                if broken:  # half the promised body, then the connection goes away
                    self.wfile.write(f.read(max(1, left // 2)))
                    self.wfile.flush()
                    self.close_connection = True
                    return
                while left > 0:
                    chunk = f.read(min(_COPY, left))
                    if not chunk:
                        break
                    # Counted before the write: a client may finish reading (and a test assert)
                    # before this thread gets to run again.
                    server.count(len(chunk))
                    self.wfile.write(chunk)
                    left -= len(chunk)

        def _empty(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@contextmanager
def serve(root: Path, *, host: str = "127.0.0.1") -> Iterator[RangeServer]:
    """Serve ``root`` on an ephemeral loopback port while the context is open."""
    state = RangeServer(root=root)
    httpd = ThreadingHTTPServer((host, 0), _handler(state))
    state.base = f"http://{host}:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
