"""Delivery → posted verdict: how long a typical pull request waits for its verdict.

The real receiver (uvicorn on loopback, the embedded review pool) gets signed ``pull_request``
deliveries; the fake GitHub serves each pull request (a model card and a small safetensors file)
and records the verdict. The time from sending the delivery to the comment existing on the fake
is measured, one pull request after another (the latency a maintainer sees on a quiet day), and
then with ``--concurrent`` deliveries in flight at once (the pool as wide). GitHub calls are
paced as in production (PyGithub's pauses between requests and writes, which spare GitHub's
secondary rate limits): most of the latency is that pacing, so the API calls per review are
reported too. Results go to stdout as a table; copy them into docs/benchmarks.md.

    python benchmarks/verdict_latency.py --serial 60 --count 240
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import http.client
import json
import os
import platform
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from safetensors.numpy import save  # noqa: E402

from tests.fakes import fake_github  # noqa: E402
from tests.fakes.fake_github import FakeGitHub, app_key_pair  # noqa: E402
from tests.service.web_helpers import serve  # noqa: E402

APP_ID = 123456
SECRET = "latency-bench-secret"  # noqa: S105 (the fake receiver's own)
CARD = b"---\nlicense: apache-2.0\n---\n# A fine-tune\n\nTrained for the benchmark.\n"
SHARED = ROOT.parent / "shared"


def delivery(template: dict[str, object], repo: str, number: int, head: str) -> bytes:
    payload = copy.deepcopy(template)
    pr = payload["pull_request"]
    assert isinstance(pr, dict)
    pr["number"], pr["head"]["sha"], pr["draft"], pr["state"] = number, head, False, "open"
    payload["number"], payload["action"] = number, "opened"
    payload["repository"]["full_name"] = repo  # type: ignore[index]
    payload["installation"] = {"id": 4242}
    return json.dumps(payload).encode()


def post(addr: str, body: bytes, delivery_id: str) -> int:
    host, port = addr.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    conn.request(
        "POST",
        "/webhooks/github",
        body,
        {
            "Content-Type": "application/json",
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": delivery_id,
            "X-Hub-Signature-256": signature,
        },
    )
    status = conn.getresponse().status
    conn.close()
    return status


def one(github: FakeGitHub, addr: str, template: dict[str, object], n: int) -> float:
    repo = f"acme/latency-{n}"
    github.add_repo(repo, files={"README.md": CARD})
    weights = save({"w": np.ones((16, 16), dtype=np.float32)}, metadata={"format": "pt"})
    head = github.open_pull(repo, 1, {"README.md": CARD, "adapter.safetensors": weights})
    start = time.perf_counter()
    assert post(addr, delivery(template, repo, 1, head), f"bench-{n}") == 202
    deadline = start + 60
    while not github.comments(repo, 1):
        if time.perf_counter() > deadline:
            raise SystemExit(f"no verdict for {repo} within 60 s")
        time.sleep(0.002)
    return time.perf_counter() - start


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serial", type=int, default=60, help="pull requests one at a time")
    parser.add_argument("--count", type=int, default=240, help="pull requests in the burst")
    parser.add_argument("--concurrent", type=int, default=8)
    args = parser.parse_args()
    private, public = app_key_pair()
    os.environ.update(
        GITHUB_APP_ID=str(APP_ID),
        GITHUB_PRIVATE_KEY=private,
        GITHUB_WEBHOOK_SECRET=SECRET,
        REVIEWBOT_LOG_LEVEL="WARNING",
    )
    for name in ("REDIS_URL", "HF_TOKEN", "HF_WEBHOOK_SECRET"):
        os.environ.pop(name, None)
    template = json.loads(
        (SHARED / "fixtures/webhooks/github/pull_request.opened.json").read_bytes()
    )
    with contextmanager(fake_github.serve)(SHARED, APP_ID, public) as github:
        os.environ["GITHUB_API_URL"] = github.base_url
        from reviewbot.config import load_settings
        from reviewbot.web import create_app

        with serve(create_app(load_settings())) as addr:
            one(github, addr, template, -1)  # warm up: token, imports
            before = len(github.log)
            serial = [one(github, addr, template, n) for n in range(args.serial)]
            calls = (len(github.log) - before) / max(1, args.serial)
            counter = iter(range(args.serial, args.serial + args.count))
            lock = threading.Lock()

            def next_one(_: int) -> float:
                with lock:
                    n = next(counter)
                return one(github, addr, template, n)

            with ThreadPoolExecutor(args.concurrent) as pool:
                burst = list(pool.map(next_one, range(args.count)))
    print(f"machine: {platform.machine()} {os.cpu_count()}-core VM; {datetime.now(UTC):%Y-%m-%d}")
    print(f"GitHub API calls per review: {calls:.1f}")
    print("| deliveries in flight | reviews | p50 (ms) | p99 (ms) | max (ms) |")
    print("|---:|---:|---:|---:|---:|")
    for label, values in (("1", serial), (str(args.concurrent), burst)):
        print(
            f"| {label} | {len(values)} | {statistics.median(values) * 1000:.0f} | "
            f"{percentile(values, 0.99) * 1000:.0f} | {max(values) * 1000:.0f} |"
        )


if __name__ == "__main__":
    main()
