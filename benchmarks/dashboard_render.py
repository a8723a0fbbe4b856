"""The dashboard's list page rendered on the server over a 10,000-contribution history.

Builds a SQLite history (in a temporary folder) of ``--count`` contributions over 40
repositories, each with one to three reviews spread over a year, then times the list page as
its handler builds it (``reviewbot.web.dashboard.pages.list_page``: the SQL for the rows, the
count and the three charts, then the Jinja template): the default page (50 rows), the largest
page (500 rows), and a filtered, differently sorted page. The signed-in user sees every
repository, with the visibility answer cached as it is between GitHub look-ups, so no network
is involved. Target: the default page under 200 ms. Prints a Markdown table of medians.

    python benchmarks/dashboard_render.py --count 10000 --runs 15
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy.orm import Session  # noqa: E402
from starlette.datastructures import QueryParams  # noqa: E402

from reviewbot.history.schema import Contribution, Review, StateChange  # noqa: E402
from reviewbot.history.store import HistoryStore  # noqa: E402
from reviewbot.web.dashboard.app import templates  # noqa: E402
from reviewbot.web.dashboard.pages import list_page  # noqa: E402
from reviewbot.web.dashboard.session import UserSession  # noqa: E402
from reviewbot.web.dashboard.state import Dashboard  # noqa: E402
from reviewbot.web.dashboard.visibility import Visibility  # noqa: E402

T0 = datetime(2026, 1, 5, tzinfo=UTC)
VERDICTS = ("pass", "pass", "pass", "warn", "fail", "error", "pass", "warn")
RULES = ("weights.pickle-global", "licence.conflict", "licence.missing", "evals.nan-weights")
REPOS = [f"acme/model-{i:02d}" for i in range(40)]


def build(store: HistoryStore, count: int) -> None:
    """Rows written in bulk through the schema: the store's one-review-per-transaction writer
    would spend minutes on fsyncs that have nothing to do with reading."""
    with Session(store.engine) as session, session.begin():
        for n in range(count):
            repo = REPOS[n % len(REPOS)]
            opened = T0 + timedelta(minutes=50 * n)
            c = Contribution(
                platform="github", repo=repo, number=n + 1, kind="pull_request",
                title=f"Fine-tune {n} <with> a long enough title to be realistic",
                author=f"user{n % 300}", first_time=n % 7 == 0, base_models=["base/x"],
                licence="apache-2.0", state="open" if n % 5 else "merged", opened_at=opened,
                updated_at=opened + timedelta(hours=2), url=f"https://github.com/{repo}/pull/{n}",
            )  # fmt: skip
            session.add(c)
            session.flush()
            session.add(StateChange(contribution_id=c.id, state=c.state, at=opened))
            for k in range(1 + n % 3):
                verdict = VERDICTS[(n + k) % len(VERDICTS)]
                rule = RULES[(n + k) % len(RULES)] if verdict != "pass" else None
                finished = opened + timedelta(minutes=10 + 30 * k)
                session.add(
                    Review(
                        contribution_id=c.id, head_sha=f"{n:032x}{k:08x}", reason="review",
                        requested_by=None, verdict=verdict, high=int(verdict == "fail"),
                        medium=int(verdict == "warn"), worst_rule=rule,
                        worst_severity="high" if rule else None, worst_path="model.bin",
                        worst_message="found", findings=[], files=[], size_bytes=1 << 20,
                        started_at=finished - timedelta(seconds=20 + n % 600),
                        finished_at=finished, duration_seconds=float(20 + n % 600),
                        reviewbot_version="bench", policy_fingerprint="0" * 64,
                    )
                )  # fmt: skip


class _NoGitHub:
    def can_see(self, token: str, repo: str) -> bool:
        raise AssertionError("the benchmark's visibility is cached; GitHub is never asked")


def timed(dashboard: Dashboard, user: UserSession, query: str, runs: int) -> list[float]:
    params = QueryParams(query)
    status, html = list_page(dashboard, user, params, datetime.now(UTC))
    assert status == 200 and "<svg" in html, html[:200]
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        list_page(dashboard, user, params, datetime.now(UTC))
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reviewbot-dash-bench-") as folder:
        store = HistoryStore(f"sqlite:///{Path(folder) / 'history.sqlite3'}")
        started = time.perf_counter()
        build(store, args.count)
        built = time.perf_counter() - started
        known = frozenset(store.repositories())
        visibility = Visibility(_NoGitHub(), store.repositories, {}, ttl=3600)  # type: ignore[arg-type]
        dashboard = Dashboard(
            settings=None, history=store, dispatcher=None, oauth=None,  # type: ignore[arg-type]
            sessions=None, visibility=visibility, templates=templates(),  # type: ignore[arg-type]
        )  # fmt: skip
        user = UserSession("bench", "token-unused", "csrf")
        user.visible, user.visible_at = known, time.monotonic()
        cases = (
            ("default page (50 rows, risk order)", ""),
            ("largest page (500 rows)", "per_page=500"),
            ("fail,warn, updated order, page 3", "verdict=fail,warn&sort=updated&page=3"),
        )
        print(f"history: {args.count} contributions built in {built:.1f} s\n")
        print("| page | median | p90 | runs |")
        print("|---|---|---|---|")
        for name, query in cases:
            seconds = sorted(timed(dashboard, user, query, args.runs))
            p90 = seconds[min(len(seconds) - 1, int(len(seconds) * 0.9))]
            median = statistics.median(seconds)
            print(f"| {name} | {median * 1000:.0f} ms | {p90 * 1000:.0f} ms | {args.runs} |")
    print(
        f"\nMachine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}; {datetime.now(UTC):%Y-%m-%d}."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
