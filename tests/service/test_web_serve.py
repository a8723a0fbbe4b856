"""The Procfile's ``web`` process, run as written: memory, deadlines and logs under attack."""

from __future__ import annotations

import os
import select
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.service.web_helpers import GH_SECRET, HF_SECRET, HF_TOKEN, request
from tests.service.web_helpers import free_port as _free_port

ROOT = Path(__file__).resolve().parents[2]
HEADER_TIMEOUT = 1


@dataclass
class Web:
    addr: str
    proc: subprocess.Popen[bytes]
    log: Path

    def peak_rss_mb(self) -> float:
        """The process's high-water resident set (VmHWM), in MiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmHWM")


def procfile_command(role: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == role:
            return command.strip()
    raise AssertionError(f"no {role} line in the Procfile")


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    port = _free_port()
    log = tmp_path_factory.mktemp("web") / "web.log"
    key = tmp_path_factory.mktemp("key") / "app.pem"
    key.write_text(
        "-----BEGIN RSA PRIVATE KEY-----\nnot-a-real-key\n-----END RSA PRIVATE KEY-----\n"
    )
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PORT": str(port),
        "GITHUB_APP_ID": "2",
        "GITHUB_PRIVATE_KEY_PATH": str(key),
        "GITHUB_WEBHOOK_SECRET": GH_SECRET,
        "HF_TOKEN": HF_TOKEN,
        "HF_WEBHOOK_SECRET": HF_SECRET,
        "REVIEWBOT_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "REVIEWBOT_WORKERS": "1",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", "-c", procfile_command("web")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    addr = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if request(addr, "GET", "/healthz").status == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the web process did not start:\n" + log.read_text()[-2000:])
        time.sleep(0.1)
    yield Web(addr, proc, log)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def push_body(addr: str, length: int, results: list[tuple[int, bytes]]) -> None:
    """Declare ``length`` bytes and send them 1 MiB at a time; stop as soon as answered."""
    host, port = addr.split(":")
    chunk = b"x" * (1 << 20)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            b"POST /webhooks/github HTTP/1.1\r\nHost: t\r\nX-GitHub-Event: push\r\n"
            b"X-GitHub-Delivery: flood\r\nX-Hub-Signature-256: sha256=" + b"0" * 64 + b"\r\n"
            b"Content-Length: %d\r\n\r\n" % length
        )
        sent = 0
        while sent < length:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(chunk[: length - sent])
            except OSError:
                break
            sent += len(chunk)
        sock.settimeout(30)
        reply = sock.recv(4096)
    status = int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else 0
    results.append((status, reply))


@pytest.mark.slow
def test_forty_senders_of_24_mb_cannot_pin_the_memory(web: Web) -> None:
    before = web.peak_rss_mb()
    results: list[tuple[int, bytes]] = []
    threads = [
        threading.Thread(target=push_body, args=(web.addr, 24 << 20, results)) for _ in range(40)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    statuses = sorted(status for status, _ in results)
    assert len(statuses) == 40
    assert set(statuses) <= {401, 503}, statuses  # read then refused unsigned, or turned away
    assert statuses.count(503) > 0
    assert all(b"retry-after: " in reply.lower() for status, reply in results if status == 503)
    # 40 bodies of 24 MiB read at once would be ~960 MiB; the 64 MiB budget keeps it to a few.
    grown = web.peak_rss_mb() - before
    assert grown < 250, f"peak RSS grew by {grown:.0f} MiB"
    assert request(web.addr, "GET", "/healthz").status == 200


def test_the_web_process_cuts_a_slow_header_sender(web: Web) -> None:
    host, port = web.addr.split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        for byte in b"POST /webhooks/github HTTP/1.1\r\nHost: t\r\n" * 10:
            readable, _, _ = select.select([sock], [], [], 0.1)
            if readable:
                break
            sock.sendall(bytes([byte]))
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < HEADER_TIMEOUT + 1.5


def test_no_secret_reaches_the_web_process_log(web: Web) -> None:
    secrets = [GH_SECRET, HF_SECRET, "a-guessed-secret-9d2e", "Bearer-token-5c1f"]
    headers = {"X-Webhook-Secret": HF_SECRET, "Authorization": "Bearer Bearer-token-5c1f"}
    for secret in (HF_SECRET, "a-guessed-secret-9d2e"):
        request(web.addr, "POST", f"/webhooks/huggingface?secret={secret}", b"{", headers)
        request(web.addr, "POST", f"/webhooks/github?x=1&secret={secret}", b"{}", headers)
        request(web.addr, "POST", f"/webhooks/github?{secret}", b"{}", headers)  # no name
    request(web.addr, "GET", f"/healthz?token={GH_SECRET}")
    time.sleep(0.3)  # the access log is written as each answer goes out
    text = web.log.read_text()
    assert "/webhooks/huggingface?secret=**********" in text  # the access log still says what
    for secret in secrets:
        assert secret not in text, shlex.quote(secret)
