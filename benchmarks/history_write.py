"""What recording a review in the history adds to the review: medians, SQLite and PostgreSQL.

A pull request (a model card and a small safetensors file) on the fake GitHub (unpaced) is
reviewed through the service again and again, one new head per review, with the history off and
then on; per database it reports the median review, the median cost on the review's path (the
contribution read from the platform, the record built, handed to the recorder's queue) and the
median write the recorder's thread then makes (one transaction: contribution upsert plus the
review row). PostgreSQL is the tests' private server when its binaries are installed, or the
``--postgres`` URL. Results go to stdout as a table; copy them into docs/benchmarks.md.

    python benchmarks/history_write.py --runs 30
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from safetensors.numpy import save  # noqa: E402

from reviewbot.composition import NO_RECORDER, ReviewInputs  # noqa: E402
from reviewbot.history.capture import contribution_meta, remember, review_record  # noqa: E402
from reviewbot.history.recorder import HistoryRecorder, Recorder  # noqa: E402
from reviewbot.history.store import HistoryStore  # noqa: E402
from reviewbot.models import ContributionRef, Platform  # noqa: E402
from reviewbot.platforms.github import GitHubPlatform  # noqa: E402
from reviewbot.service import review_contribution  # noqa: E402
from reviewbot.workspace import fetch_review  # noqa: E402
from tests.fakes import fake_github  # noqa: E402
from tests.fakes.fake_github import FakeGitHub, app_key_pair  # noqa: E402

APP_ID = 123456
CARD = b"---\nlicense: apache-2.0\n---\n# A fine-tune\n\nTrained for the benchmark.\n"
SHARED = ROOT.parent / "shared"


def weights(value: float) -> bytes:
    return save({"w": np.full((64, 64), value, dtype=np.float32)}, metadata={"format": "pt"})


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


@contextmanager
def postgres(url: str | None) -> Iterator[str | None]:
    if url is not None:
        yield url
        return
    from tests.postgres_server import PostgresServer, find_binary

    if find_binary("initdb") is None:
        yield None
        return
    workdir = Path(tempfile.mkdtemp(prefix="reviewbot-bench-pg-"))
    server = PostgresServer(workdir)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def reviews(
    github: FakeGitHub, client: GitHubPlatform, recorder: Recorder, runs: int, repo: str
) -> list[float]:
    """Seconds per review, each of a new head, with ``recorder`` taking the history."""
    inputs = replace(ReviewInputs.of(None, client), recorder=recorder)
    times = []
    for n in range(runs):
        head = github.push(repo, 1, {"model.safetensors": weights(float(n))})
        ref = ContributionRef(Platform.GITHUB, repo, 1, head_sha=head, installation_id=4242)
        started = time.perf_counter()
        outcome = review_contribution(ref, platform=client, inputs=inputs)
        times.append(time.perf_counter() - started)
        assert outcome.status == "posted", outcome
    return times


def timed(runs: int, call: Callable[[], object]) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def measure(
    github: FakeGitHub, client: GitHubPlatform, repo: str, url: str, runs: int
) -> tuple[float, float, float]:
    """Median ms: a review with the history on, the recording on its path, the write."""
    store = HistoryStore(url)
    recorder = HistoryRecorder(lambda: store)
    on = median_ms(reviews(github, client, recorder, runs, repo))
    assert recorder.flush(60)
    ref = ContributionRef(Platform.GITHUB, repo, 1, installation_id=4242)
    head = client.head_sha(ref)
    ref = replace(ref, head_sha=head)
    now = datetime.now(UTC)
    seen = fetch_review(ref, client, head, ReviewInputs.of(None, client))  # a real report
    fields: dict[str, Any] = {
        "head_sha": head, "reason": "review", "requested_by": None,
        "verdict": seen.report.verdict.value, "started_at": now, "finished_at": now,
        "report": seen.report, "listing": seen.listing, "policy": seen.policy,
    }  # fmt: skip
    path = median_ms(timed(runs, lambda: remember(recorder, client, ref, card=seen.card, **fields)))
    assert recorder.flush(60)
    meta, record = contribution_meta(client, ref), review_record(**fields)
    write = median_ms(timed(runs, lambda: store.record_review(meta, record)))
    recorder.close()
    return on, path, write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--postgres", help="a PostgreSQL URL (default: a private server)")
    args = parser.parse_args()
    private, public = app_key_pair()
    rows: list[tuple[str, float, float, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp, postgres(args.postgres) as pg_url:
        for github in fake_github.serve(SHARED, APP_ID, public):
            client = GitHubPlatform(
                app_id=APP_ID, private_key=private, api_url=github.base_url, paced=False
            )
            repo = "acme/history-bench"
            github.add_repo(repo, files={"README.md": CARD})
            github.open_pull(repo, 1, {"model.safetensors": weights(-1.0)})
            reviews(github, client, NO_RECORDER, 3, repo)  # warm: imports, token, caches
            off = median_ms(reviews(github, client, NO_RECORDER, args.runs, repo))
            databases = [("SQLite", f"sqlite:///{tmp}/history.sqlite3")]
            if pg_url is not None:
                databases.append(("PostgreSQL", pg_url))
            for name, url in databases:
                rows.append((name, off, *measure(github, client, repo, url, args.runs)))
    python = platform.python_version()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {python}")
    print(f"date: {datetime.now(UTC):%Y-%m-%d}, runs: {args.runs}")
    print("| database | review, history off | review, history on | on the review's path | "
          "ratio (path / review) | background write |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name, off, on, path, write in rows:
        print(
            f"| {name} | {off:.1f} ms | {on:.1f} ms | {path:.2f} ms | {path / off:.1%} "
            f"| {write:.2f} ms |"
        )


if __name__ == "__main__":
    main()
