"""The loopback page that posts the manifest to GitHub, and the callback GitHub redirects to."""

from __future__ import annotations

import hmac
import html
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from reviewbot.setup import SetupError

CALLBACK_PATH = "/callback"
HOST = "127.0.0.1"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reviewbot: create the GitHub App</title></head>
<body>
<h1>Create reviewbot's GitHub App</h1>
<p>GitHub will show the App's name (you may change it) and ask you to confirm.</p>
<form id="manifest-form" action="{action}" method="post">
<input type="hidden" name="manifest" value="{manifest}">
<button type="submit">Create the GitHub App on GitHub</button>
</form>
<script>document.getElementById("manifest-form").submit();</script>
</body></html>
"""

_RESULT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reviewbot setup</title></head>
<body><h1>{title}</h1><p>{message}</p></body></html>
"""


@dataclass
class Flow:
    """One run of the flow: what the page posts, and what became of GitHub's callback."""

    action: str  # GitHub's form URL, ``state`` included
    manifest: dict[str, Any]
    state: str
    # Called once with GitHub's code: returns the text for the browser, or raises SetupError.
    on_code: Callable[[str], str]
    done: threading.Event = field(default_factory=threading.Event)
    message: str = ""
    error: SetupError | None = None
    refused: int = 0  # callbacks turned away for a wrong state
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _claimed: bool = False

    def state_matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.state.encode())

    def claim(self) -> bool:
        """True for the first good callback only: a code is exchanged once."""
        with self._lock:
            claimed, self._claimed = self._claimed, True
            return not claimed


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, flow_factory: Callable[[str], Flow]) -> None:
        super().__init__((HOST, port), _Handler)
        self.port = int(self.server_address[1])
        self.flow = flow_factory(self.url(CALLBACK_PATH))

    def url(self, path: str = "/") -> str:
        return f"http://{HOST}:{self.port}{path}"

    def allowed_hosts(self) -> set[str]:
        return {f"{HOST}:{self.port}", f"localhost:{self.port}"}

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a browser that hung up early is no reason for a traceback on the terminal


def listen(port: int, flow_factory: Callable[[str], Flow]) -> Server:
    """Bind the loopback port (0: any free one); ``flow_factory`` gets the callback URL."""
    try:
        return Server(port, flow_factory)
    except OSError as exc:
        raise SetupError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None


class _Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # the query string carries the code: keep it off the terminal

    def do_GET(self) -> None:
        # A page on loopback is still reachable from a browser tab through DNS rebinding; only
        # our own host names may load it, or another site could read the state out of it.
        if self.headers.get("Host", "") not in self.server.allowed_hosts():
            return self._send(421, "Wrong host", "This page answers only on its own address.")
        url = urlsplit(self.path)
        flow = self.server.flow
        if url.path == "/":
            return self._page(flow)
        if url.path == CALLBACK_PATH:
            return self._callback(flow, parse_qs(url.query))
        self._send(404, "Not found", "Nothing here.")

    def _page(self, flow: Flow) -> None:
        body = _PAGE.format(
            action=html.escape(flow.action, quote=True),
            manifest=html.escape(json.dumps(flow.manifest), quote=True),
        )
        self._write(200, body)

    def _callback(self, flow: Flow, query: dict[str, list[str]]) -> None:
        state = (query.get("state") or [""])[0]
        code = (query.get("code") or [""])[0]
        if not flow.state_matches(state):
            flow.refused += 1
            return self._send(400, "Refused", "This callback does not belong to this setup.")
        if not code:
            return self._send(400, "Refused", "GitHub sent no code.")
        if not flow.claim():
            return self._send(409, "Already done", "This setup has already finished.")
        try:
            flow.message = flow.on_code(code)
        except Exception as exc:  # whatever happens, the command ends now with one line
            flow.error = (
                exc
                if isinstance(exc, SetupError)
                else SetupError(f"the setup failed unexpectedly ({type(exc).__name__})")
            )
            self._send(502, "Setup failed", str(flow.error))
        else:
            self._send(200, "Done", flow.message)
        finally:
            flow.done.set()

    def _send(self, status: int, title: str, message: str) -> None:
        self._write(status, _RESULT.format(title=html.escape(title), message=html.escape(message)))

    def _write(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(data)


def serve_in_background(server: Server) -> threading.Thread:
    # polled often: shutdown waits up to one interval
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    return thread
