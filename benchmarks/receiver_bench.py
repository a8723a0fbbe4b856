"""The webhook receiver under load: signed GitHub deliveries/s and latency, each queued once.

One ``reviewbot serve`` process (one uvicorn worker, the hardening on, logs at INFO to a file)
with a private ``redis-server``; 32 keep-alive connections post distinct ``pull_request.opened``
deliveries (the recorded 28 KB payload, each for its own pull request and head), one in 20 a
redelivery of an earlier one. Afterwards the ``reviews`` queue is read back: every delivery
answered ``queued`` must be there exactly once, every redelivery answered ``duplicate``.

``--baseline REF`` also runs the receiver of git ``REF`` (extracted under benchmarks/.work),
alternating runs with the working tree's, so the before/after ratio is measured side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.redis_server import RedisServer, free_port  # noqa: E402

SHARED = ROOT.parent / "shared"
WORK = ROOT / "benchmarks" / ".work"
SECRET = "bench-webhook-secret-5b1e"  # noqa: S105 - a test secret for a local receiver
REPO = "bench/receiver"
PATH = "/webhooks/github"


@dataclass
class Run:
    variant: str
    deliveries: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    refused: int  # answers other than queued / duplicate
    queued_once: bool
    detail: str


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as workdir, RedisServer(Path(workdir)) as server:
        yield server.url


@contextlib.contextmanager
def web_process(source: Path, redis_url: str, log: Path) -> Iterator[int]:
    """``reviewbot serve`` from ``source`` (a checkout), as the Procfile runs it."""
    port = free_port()
    key = WORK / "bench-app.pem"
    key.write_text(
        "-----BEGIN RSA PRIVATE KEY-----\nnot-a-real-key\n-----END RSA PRIVATE KEY-----\n"
    )
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(source),
        "REDIS_URL": redis_url,
        "GITHUB_APP_ID": "2",
        "GITHUB_PRIVATE_KEY_PATH": str(key),
        "GITHUB_WEBHOOK_SECRET": SECRET,
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "reviewbot", "serve", "--port", str(port)],
            cwd=source,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(300):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if proc.poll() is not None:
                sys.exit(f"the receiver did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def build_requests(count: int, offset: int) -> tuple[list[bytes], list[int]]:
    """Raw HTTP requests (one in 20 a redelivery) and the pull request number each carries."""
    template = json.loads(
        (SHARED / "fixtures/webhooks/github/pull_request.opened.json").read_bytes()
    )
    template["repository"]["full_name"] = REPO
    requests: list[bytes] = []
    numbers: list[int] = []
    for i in range(count):
        if i % 20 == 19:  # a redelivery of a delivery sent a little earlier
            requests.append(requests[i - 10])
            numbers.append(numbers[i - 10])
            continue
        number = offset + i + 1
        template["number"] = number
        template["pull_request"]["number"] = number
        template["pull_request"]["head"]["sha"] = hashlib.sha256(b"%d" % number).hexdigest()[:40]
        body = json.dumps(template).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        head = (
            f"POST {PATH} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"User-Agent: GitHub-Hookshot/bench\r\nX-GitHub-Event: pull_request\r\n"
            f"X-GitHub-Delivery: bench-{number}\r\nX-Hub-Signature-256: {signature}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        requests.append(head.encode() + body)
        numbers.append(number)
    return requests, numbers


async def load(port: int, requests: list[bytes], connections: int) -> list[tuple[float, int, str]]:
    """Send each request over ``connections`` keep-alive connections: (seconds, status, outcome)."""
    results: list[tuple[float, int, str]] = [(0.0, 0, "")] * len(requests)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(requests)):
        queue.put_nowait(i)

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                writer.write(requests[i])
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                status = int(head.split(b" ", 2)[1])
                outcome = str(json.loads(body).get("outcome", "")) if body else ""
                results[i] = (time.perf_counter() - started, status, outcome)
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    return results


def queued_numbers(client: redis.Redis) -> Counter[int]:
    counts: Counter[int] = Counter()
    for raw in client.lrange("reviews", 0, -1):
        envelope = json.loads(raw)
        body = envelope["body"]
        if envelope["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        _args, kwargs, _embed = json.loads(body)
        counts[int(kwargs["number"])] += 1
    return counts


def one_run(variant: str, source: Path, redis_url: str, count: int, connections: int) -> Run:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    log = WORK / f"receiver-{variant}.log"
    with web_process(source, redis_url, log) as port:
        warm, _ = build_requests(300, offset=10_000_000)
        asyncio.run(load(port, warm, connections))
        client.flushdb()
        requests, numbers = build_requests(count, offset=0)
        started = time.perf_counter()
        results = asyncio.run(load(port, requests, connections))
        seconds = time.perf_counter() - started
    latencies = sorted(r[0] for r in results)
    answers: dict[int, Counter[str]] = {}
    refused = 0
    for (_, status, outcome), number in zip(results, numbers, strict=True):
        answers.setdefault(number, Counter())[outcome] += 1
        if status != 202 or outcome not in ("queued", "duplicate"):
            refused += 1
    accepted = {n for n, c in answers.items() if c["queued"] == 1}
    on_queue = queued_numbers(client)
    client.close()
    once = (
        refused == 0
        and accepted == set(answers)
        and set(on_queue) == accepted
        and all(v == 1 for v in on_queue.values())
    )
    detail = (
        f"{len(accepted)} queued answers, {sum(on_queue.values())} messages for "
        f"{len(on_queue)} pull requests, {sum(c['duplicate'] for c in answers.values())} "
        f"duplicates answered"
    )
    return Run(
        variant=variant,
        deliveries=count,
        seconds=seconds,
        per_second=count / seconds,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99) - 1] * 1000,
        refused=refused,
        queued_once=once,
        detail=detail,
    )


def extract(ref: str) -> Path:
    """The tree of git ``ref``, extracted under benchmarks/.work (re-extracted each time)."""
    target = WORK / f"receiver-baseline-{ref.replace('/', '_')}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref],
        check=True,
        capture_output=True,
    ).stdout
    archive_path = WORK / "baseline.tar"
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as tar:
        tar.extractall(target, filter="data")
    archive_path.unlink()
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=6000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", metavar="REF", help="also run git REF's receiver")
    parser.add_argument("--json", type=Path, default=WORK / "receiver.json")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    variants = [("this tree", ROOT)]
    if args.baseline:
        variants.insert(0, (f"baseline {args.baseline}", extract(args.baseline)))
    runs: list[Run] = []
    with redis_server() as url:
        for n in range(args.runs):
            for name, source in variants:
                run = one_run(
                    name.replace(" ", "-"), source, url, args.deliveries, args.connections
                )
                run.variant = name
                runs.append(run)
                print(
                    f"run {n + 1} {name}: {run.per_second:.0f}/s, p50 {run.p50_ms:.1f} ms, "
                    f"p99 {run.p99_ms:.1f} ms, refused {run.refused}, "
                    f"queued exactly once: {run.queued_once} ({run.detail})",
                    flush=True,
                )
    print(f"\n{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(
        f"{args.deliveries} deliveries per run, {args.connections} connections, median of "
        f"{args.runs} runs\n"
    )
    print("| receiver | deliveries/s | p50 | p99 | every accepted delivery queued once |")
    print("|---|---|---|---|---|")
    medians: dict[str, dict[str, float]] = {}
    for name, _ in variants:
        mine = [r for r in runs if r.variant == name]
        medians[name] = {
            "per_second": statistics.median(r.per_second for r in mine),
            "p50_ms": statistics.median(r.p50_ms for r in mine),
            "p99_ms": statistics.median(r.p99_ms for r in mine),
        }
        m = medians[name]
        ok = "yes" if all(r.queued_once for r in mine) else "NO"
        print(
            f"| {name} | {m['per_second']:.0f} | {m['p50_ms']:.1f} ms | "
            f"{m['p99_ms']:.1f} ms | {ok} |"
        )
    if len(variants) == 2:
        base, new = (medians[name] for name, _ in variants)
        print(
            f"| ratio (this tree / baseline) | {new['per_second'] / base['per_second']:.2f}× | "
            f"{new['p50_ms'] / base['p50_ms']:.2f}× | {new['p99_ms'] / base['p99_ms']:.2f}× | |"
        )
    args.json.write_text(
        json.dumps({"runs": [r.__dict__ for r in runs], "medians": medians}, indent=2)
    )
    return 0 if all(r.queued_once for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
