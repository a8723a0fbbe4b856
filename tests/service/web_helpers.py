"""Helpers for the receiver tests: a real uvicorn on loopback, signed posts, a recording runner."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from reviewbot.config import Settings
from reviewbot.models import ContributionRef
from reviewbot.web.server import uvicorn_config
from tests.redis_server import free_port

GH_SECRET = "gh-test-webhook-secret-3f9a"
HF_SECRET = "hf-test-webhook-secret-77c1"
HF_TOKEN = "hf_testtoken_not_real_0123456789"
TEST_KEY = "-----BEGIN RSA PRIVATE KEY-----\nnot-a-real-key\n-----END RSA PRIVATE KEY-----\n"


def make_settings(**overrides: Any) -> Settings:
    """Both platforms enabled with test secrets; ``overrides`` change any field."""
    values: dict[str, Any] = {
        "github_app_id": 2,
        "github_private_key": TEST_KEY,
        "github_webhook_secret": GH_SECRET,
        "hf_token": HF_TOKEN,
        "hf_webhook_secret": HF_SECRET,
        "redis_url": None,
        "reviewbot_watched_models": ("acme/base-7b",),
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def serve(app: Any, port: int | None = None) -> Iterator[str]:
    """Run ``app`` on a loopback port (a free one by default) as ``reviewbot serve`` runs it;
    yields ``host:port``.

    The uvicorn configuration (deadline protocol included) follows the app's own settings.
    """
    port = port or free_port()
    settings = app.state.receiver.settings
    config = uvicorn_config(app, settings, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    seconds: float


def request(
    addr: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    host, port = addr.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    seconds = time.perf_counter() - started
    try:
        parsed = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        parsed = {"text": raw.decode("utf-8", "replace")}
    return Answer(resp.status, parsed, seconds)


def sign(body: bytes, secret: str = GH_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_headers(
    event: str, delivery: str, body: bytes, *, secret: str | None = GH_SECRET
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/test",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
    }
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(body, secret)
    return headers


def post_github(
    addr: str, event: str, body: bytes, *, delivery: str, secret: str | None = GH_SECRET
) -> Answer:
    return request(
        addr, "POST", "/webhooks/github", body, github_headers(event, delivery, body, secret=secret)
    )


def post_hf(addr: str, body: bytes, *, secret: str | None = HF_SECRET) -> Answer:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Webhook-Secret"] = secret
    return request(addr, "POST", "/webhooks/huggingface", body, headers)


def fixture(shared: Path, name: str) -> bytes:
    return (shared / "fixtures" / "webhooks" / name).read_bytes()


def fixture_json(shared: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture(shared, name))
    return data


def metric(addr: str, name: str, **labels: str) -> float:
    """The current value of one sample, read over HTTP from ``/metrics`` (0 when absent)."""
    host, port = addr.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


@dataclass(frozen=True)
class Call:
    ref: ContributionRef
    reason: str
    requested_by: str | None
    thread: str
    comment_id: int | None = None
    accept: str | None = None


class Recorder:
    """A real review function for the embedded pool: records each call, optionally slowly."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.calls: list[Call] = []
        self.delay = delay
        self.fail = fail
        self._cond = threading.Condition()

    def __call__(
        self,
        ref: ContributionRef,
        *,
        reason: str,
        requested_by: str | None,
        comment_id: int | None = None,
        accept: str | None = None,
    ) -> str:
        if self.delay:
            time.sleep(self.delay)
        with self._cond:
            thread = threading.current_thread().name
            self.calls.append(Call(ref, reason, requested_by, thread, comment_id, accept))
            self._cond.notify_all()
        if self.fail:
            raise RuntimeError("review exploded")
        return "posted"

    def wait_for(self, count: int, timeout: float = 10) -> list[Call]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.calls) >= count, timeout=timeout):
                raise AssertionError(f"expected {count} review(s), saw {len(self.calls)}")
            return list(self.calls)

    def settle(self, seconds: float = 0.3) -> list[Call]:
        """Give stray jobs time to arrive, then report everything run so far."""
        time.sleep(seconds)
        with self._cond:
            return list(self.calls)
