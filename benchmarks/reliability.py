"""Fault → what the service does → measured result: writes the table in docs/reliability.md.

Every scenario runs real reviews (the service, its publish locks and retry policy) against the
fault-injecting fake GitHub on loopback, several pull requests each, and then counts on the fake
what a maintainer would see: reviews lost (no verdict for the final head), duplicate verdict
comments, check runs of ours left in progress, and stale verdicts (for a superseded head). The
worker scenarios start a private redis-server and a real Celery worker process.

    python benchmarks/reliability.py            # all scenarios, rewrites docs/reliability.md
    python benchmarks/reliability.py --quick    # a 20 s outage instead of 120 s
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from reviewbot.dispatch import InProcessDispatcher  # noqa: E402
from reviewbot.models import ContributionRef, Platform  # noqa: E402
from reviewbot.platforms import github as github_platform  # noqa: E402
from reviewbot.platforms.github import GitHubPlatform  # noqa: E402
from reviewbot.service import post_error_safely, review_contribution  # noqa: E402
from tests.fakes import fake_github  # noqa: E402
from tests.fakes.fake_github import FakeGitHub, app_key_pair  # noqa: E402

APP_ID = 123456
INSTALLATION = 4242
CARD = b"---\nlicense: apache-2.0\n---\n# A model\n"
LIMITED = {"message": "You have exceeded a secondary rate limit. Please wait."}
DOC = ROOT / "docs" / "reliability.md"


@dataclass
class Row:
    fault: str
    handling: str
    reviews: int
    lost: int = 0
    duplicates: int = 0
    stuck: int = 0
    stale: int = 0
    seconds: float = 0.0


@dataclass
class Pull:
    repo: str
    head: str


class Bench:
    def __init__(self, github: FakeGitHub, key: str) -> None:
        self.github, self.key = github, key
        self._n = 0

    def platform(self) -> GitHubPlatform:
        return GitHubPlatform(
            app_id=APP_ID,
            private_key=self.key,
            api_url=self.github.base_url,
            paced=False,
            max_rate_limit_wait=1.0,
        )

    def pulls(
        self, count: int, files: dict[str, bytes] | None = None, **kw: frozenset[str]
    ) -> list[Pull]:
        made = []
        for _ in range(count):
            self._n += 1
            repo = f"acme/reliability-{self._n}"
            self.github.add_repo(
                repo, files={"README.md": CARD}, permissions={"maintainer": "write"}
            )
            made.append(
                Pull(repo, self.github.open_pull(repo, 1, files or {"notes.txt": b"hi\n"}, **kw))
            )
        return made

    def tally(self, row: Row, pulls: list[Pull]) -> Row:
        for pull in pulls:
            head = self.github.repos[pull.repo].pulls[1].head_sha
            ours = [c for c in self.github.comments(pull.repo, 1) if c["body"].startswith("<!--")]
            if not any(f"sha={head}" in c["body"].split("\n", 1)[0] for c in ours):
                row.lost += 1
            row.duplicates += max(0, len(ours) - 1)
            row.stale += sum(f"sha={head}" not in c["body"].split("\n", 1)[0] for c in ours)
            row.stuck += sum(r["status"] != "completed" for r in self.github.our_runs(pull.repo))
        return row

    def pool(self) -> InProcessDispatcher:
        client = self.platform()
        return InProcessDispatcher(
            lambda ref, **kw: review_contribution(ref, platform=client, **kw),
            workers=2,
            max_pending=256,
            on_failure=lambda ref, why: post_error_safely(ref, why, platform=client),
        )

    def review_all(self, pulls: list[Pull], *, reason: str = "review") -> None:
        pool = self.pool()
        for pull in pulls:
            pool.submit(
                ref(pull, None if reason == "recheck" else pull.head),
                reason=reason,
                requested_by="maintainer" if reason == "recheck" else None,
            )
        wait_idle(pool)  # retries included: closing first would cut them short
        pool.close(wait=True)


def ref(pull: Pull, head: str | None) -> ContributionRef:
    return ContributionRef(Platform.GITHUB, pull.repo, 1, head, installation_id=INSTALLATION)


def wait_idle(pool: InProcessDispatcher, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while pool.pending and time.monotonic() < deadline:
        time.sleep(0.2)


def timed(fn: Callable[[], Row]) -> Row:
    start = time.monotonic()
    row = fn()
    row.seconds = time.monotonic() - start
    return row


# -- in-process scenarios -------------------------------------------------------------------


def partial_failures(b: Bench) -> Iterator[Row]:
    cases = [
        (
            "comment create carried out, answered 502",
            "POST",
            r"/issues/1/comments$",
            {"after": True},
            "found before created on the retry: edited, not posted again",
        ),
        (
            "check-run create carried out, answered 502",
            "POST",
            r"/check-runs$",
            {"after": True},
            "the open run of our App is found and reused",
        ),
        (
            "completing PATCH answered 502 twice",
            "PATCH",
            r"/check-runs/\d+$",
            {"times": 2},
            "the write is tried again in the job (1 s, 2 s)",
        ),
    ]
    for fault, method, route, extra, handling in cases:
        start = time.monotonic()
        pulls = b.pulls(5)
        for pull in pulls:
            b.github.fail(method, rf"^/repos/{pull.repo}{route}", 502, **extra)  # type: ignore[arg-type]
        b.review_all(pulls)
        row = b.tally(Row(fault, handling, len(pulls)), pulls)
        row.seconds = time.monotonic() - start
        yield row


def foreign_runs(b: Bench) -> Row:
    pulls = b.pulls(5)
    for pull in pulls:
        b.github.add_foreign_run(pull.repo, pull.head, name="reviewbot")
    b.review_all(pulls)
    row = b.tally(
        Row(
            "another App's check run named `reviewbot` on the head",
            "ignored: runs count as ours by App id only; ours is created and completed",
            len(pulls),
        ),
        pulls,
    )
    return row


def races(b: Bench) -> Row:
    pulls = b.pulls(10)
    pool = b.pool()
    for pull in pulls:
        b.github.slow("GET", rf"^/repos/{pull.repo}/contents/", 0.5, times=2)
        pool.submit(ref(pull, pull.head), reason="review")
        pool.submit(ref(pull, None), reason="recheck", requested_by="maintainer")
    wait_idle(pool)
    pool.close(wait=True)
    return b.tally(
        Row(
            "a push and a `/reviewbot recheck` of one PR at the same moment",
            "one writer per PR (publish lock), head re-read under it",
            20,
        ),
        pulls,
    )


def rate_limited_comment_during_push(b: Bench) -> Row:
    pulls = b.pulls(5)
    pool = b.pool()

    def push(pull: Pull) -> None:  # the push, and the synchronize delivery it causes
        pull.head = b.github.push(pull.repo, 1, {"x.txt": b"2\n"})
        pool.submit(ref(pull, pull.head), reason="review")

    for pull in pulls:
        b.github.fail(
            "POST",
            rf"^/repos/{pull.repo}/issues/1/comments$",
            403,
            headers={"Retry-After": "2"},
            body=LIMITED,
            then=lambda p=pull: push(p),
        )
    for pull in pulls:
        pool.submit(ref(pull, pull.head), reason="review")
    wait_idle(pool)
    pool.close(wait=True)
    return b.tally(
        Row(
            "comment POST rate-limited (403, Retry-After 2 s) while a push lands",
            "waited out in the job; the head re-read before the retry: superseded",
            10,
        ),
        pulls,
    )


def download_limits(b: Bench) -> Iterator[Row]:
    pulls = b.pulls(4)
    for pull in pulls:
        b.github.fail(
            "GET",
            rf"^/repos/{pull.repo}/contents/notes.txt$",
            403,
            headers={"Retry-After": "2"},
            body=LIMITED,
        )
    b.review_all(pulls)
    yield b.tally(
        Row(
            "403 secondary rate limit on a file download",
            "transient: the review is retried after Retry-After, no error verdict",
            len(pulls),
        ),
        pulls,
    )
    lfs = frozenset({"weights.bin"})
    pulls = b.pulls(4, {"weights.bin": b"\0" * 4096}, lfs=lfs)
    for pull in pulls:
        b.github.fail("POST", rf"^/{pull.repo}\.git/info/lfs/objects/batch$", 403, body=LIMITED)
    b.review_all(pulls)
    yield b.tally(
        Row(
            "403 secondary rate limit on the LFS batch call",
            "transient: retried with backoff, no error verdict",
            len(pulls),
        ),
        pulls,
    )


def recheck_storm(b: Bench) -> Row:
    [pull] = b.pulls(1)
    others = b.pulls(3)
    runs: list[str] = []
    client = b.platform()

    def runner(r: ContributionRef, **kw: str | None) -> object:
        runs.append(r.repo)
        return review_contribution(r, platform=client, **kw)  # type: ignore[arg-type]

    pool = InProcessDispatcher(runner, workers=2, max_pending=256)
    for _ in range(100):
        pool.submit(ref(pull, None), reason="recheck", requested_by="maintainer")
    for other in others:
        pool.submit(ref(other, other.head), reason="review")
    wait_idle(pool)
    pool.close(wait=True)
    row = b.tally(
        Row(
            "100 rechecks of one PR, 3 other PRs queued behind them",
            f"coalesced while one is queued or running: {runs.count(pull.repo)} review(s) "
            f"of that PR ran, the other PRs were served",
            4,
        ),
        [pull, *others],
    )
    return row


def outage(b: Bench, seconds: float) -> Row:
    pulls = b.pulls(8)
    for method in ("GET", "POST", "PATCH"):
        b.github.fail(method, r"^/", 502, times=10**9)
    threading.Timer(seconds, b.github.failures.clear).start()
    b.review_all(pulls)
    return b.tally(
        Row(
            f"GitHub answers 502 to everything for {seconds:.0f} s (8 PRs)",
            "retried with capped exponential backoff for over 30 min before an error verdict",
            len(pulls),
        ),
        pulls,
    )


# -- worker scenarios ------------------------------------------------------------------------


def worker_scenarios(b: Bench, key: str) -> Iterator[Row]:
    from celery import Celery

    from tests.redis_server import RedisServer
    from tests.service.celery_worker import Worker

    folder = Path(tempfile.mkdtemp(prefix="reviewbot-reliability-"))
    # AOF persistence, as a production Redis should run (docs/setup.md): queued reviews survive
    server = RedisServer(folder, persistent=True)
    url = server.url
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "HF_", "REVIEWBOT_"))
    }
    env.update(
        REDIS_URL=url,
        GITHUB_APP_ID=str(APP_ID),
        GITHUB_PRIVATE_KEY=key,
        GITHUB_WEBHOOK_SECRET="reliability",  # noqa: S106 (a test secret)
        GITHUB_API_URL=b.github.base_url,
        PYTHONPATH=str(ROOT),
    )
    with server:
        client = Celery("reliability", broker=url)
        worker = Worker(env, folder / "worker.log")
        worker.start()
        try:
            pulls = b.pulls(3)
            for pull in pulls:
                b.github.slow("GET", rf"^/repos/{pull.repo}/contents/", 3)
            for pull in pulls:
                client.send_task(
                    "reviewbot.review", kwargs=ref(pull, pull.head).to_dict(), queue="reviews"
                )
            time.sleep(2)
            worker.stop(signal.SIGKILL)
            worker.start()
            settle(b, pulls, 120)
            yield b.tally(
                Row(
                    "the worker SIGKILLed mid-review, then restarted",
                    "its lease lapses (renewed while alive): redelivered, the open run reused",
                    3,
                ),
                pulls,
            )
            pulls = b.pulls(3)
            for pull in pulls:
                b.github.slow("GET", rf"^/repos/{pull.repo}/contents/", 3)
                client.send_task(
                    "reviewbot.review", kwargs=ref(pull, pull.head).to_dict(), queue="reviews"
                )
            time.sleep(1.5)
            server.restart()  # the running review finishes; the queued ones wait in the AOF
            later = b.pulls(2)
            for pull in later:
                client.send_task(
                    "reviewbot.review", kwargs=ref(pull, pull.head).to_dict(), queue="reviews"
                )
            settle(b, pulls + later, 180)
            yield b.tally(
                Row(
                    "Redis restarted mid-review (3 PRs queued or running, 2 queued after)",
                    "the worker reconnects and keeps consuming; the review under way finishes",
                    5,
                ),
                pulls + later,
            )
        finally:
            worker.stop()
            client.close()


def settle(b: Bench, pulls: list[Pull], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(b.github.labels(p.repo, 1) for p in pulls):
            return
        time.sleep(0.2)


# -- the document ----------------------------------------------------------------------------


def write(rows: list[Row], args: argparse.Namespace) -> None:
    lines = [
        "# Reliability: faults and what the service does",
        "",
        "Written by `python benchmarks/reliability.py` (`make reliability`): each row runs real "
        "reviews against the fault-injecting fake GitHub and counts what a maintainer would see. "
        "*Lost*: no verdict for the final head; *duplicates*: extra verdict comments; *stuck*: "
        "check runs of ours left in progress; *stale*: a verdict for a superseded head.",
        "",
        f"Machine: {platform.machine()} {os.cpu_count()}-core VM, "
        f"Python {platform.python_version()}; {datetime.now(UTC):%Y-%m-%d}.",
        "",
        "| fault | what the service does | reviews | lost | duplicates | stuck | stale | seconds |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.fault} | {r.handling} | {r.reviews} | {r.lost} | {r.duplicates} | "
            f"{r.stuck} | {r.stale} | {r.seconds:.1f} |"
        )
    lines += [
        "",
        "The same faults are asserted, one pull request each, by "
        "`tests/service/test_delivery_faults.py`, `tests/service/test_workers.py`, "
        "`tests/service/test_worker_redis_restart.py` and `tests/service/test_coalesce.py`; "
        "this table adds counts over several pull requests.",
        "",
    ]
    if args.quick:
        lines.insert(5, "_Quick run: shorter outage._\n")
    DOC.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 20 s outage instead of 120 s")
    parser.add_argument("--no-worker", action="store_true", help="skip the Celery worker rows")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # the faults are on purpose: keep the output short
    private, public = app_key_pair()
    rows: list[Row] = []
    github_platform.clear_token_cache()
    with contextmanager(fake_github.serve)(ROOT.parent / "shared", APP_ID, public) as github:
        b = Bench(github, private)
        rows.extend(partial_failures(b))
        for fn in (foreign_runs, races, rate_limited_comment_during_push, recheck_storm):
            rows.append(timed(partial(fn, b)))
        rows.extend(download_limits(b))
        rows.append(timed(partial(outage, b, 20 if args.quick else 120)))
        if not args.no_worker:
            rows.extend(worker_scenarios(b, private))
        for row in rows:
            print(
                f"{row.fault}: lost {row.lost}, duplicates {row.duplicates}, stuck {row.stuck}, "
                f"stale {row.stale} ({row.seconds:.1f} s)",
                flush=True,
            )
    write(rows, args)
    print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
