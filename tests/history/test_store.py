"""Reviews recorded and read back through the triage view, with every filter and sort."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reviewbot.history.store import ContributionMeta, HistoryStore, ReviewRecord
from reviewbot.history.view import TriageQuery, Worst

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday


def meta(
    repo: str, number: int, *, days: int, platform: str = "github", **extra: object
) -> ContributionMeta:
    return ContributionMeta(
        platform=platform, repo=repo, number=number, kind="pull_request",
        opened_at=T0 + timedelta(days=days), title=f"PR {number}", author="alice",
        url=f"https://example.invalid/{repo}/{number}", **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def review(verdict: str, *, head: str, at: datetime, rule: str | None = None) -> ReviewRecord:
    worst = Worst(rule, "high", "model.bin", "bad opcode") if rule else None
    return ReviewRecord(
        head_sha=head, reason="review", verdict=verdict, started_at=at - timedelta(seconds=3),
        finished_at=at, reviewbot_version="1.0", policy_fingerprint="f" * 64,
        counts={"high": 1} if rule else {}, worst=worst,
        findings=[worst.to_json() | {"check": "weights"}] if worst else [],
        files=[{"path": "model.bin", "format": "pickle", "bytes_read": 10}], size_bytes=10,
    )  # fmt: skip


def seed(store: HistoryStore) -> None:
    store.record_review(
        meta("o/a", 1, days=0), review("pass", head="a1", at=T0 + timedelta(days=1))
    )
    store.record_review(
        meta("o/a", 2, days=1), review("fail", head="b1", at=T0 + timedelta(days=2), rule="pickle")
    )
    store.record_review(
        meta("o/b", 3, days=2), review("warn", head="c1", at=T0 + timedelta(days=3))
    )
    store.record_contribution(meta("o/b", 4, days=3))  # never reviewed
    store.record_review(
        meta("org/m", 0, days=4, platform="hf", base_models=["base/x"], licence="apache-2.0"),
        review("error", head="d1", at=T0 + timedelta(days=5)),
    )


def refs(store: HistoryStore, **query: object) -> list[str]:
    return [row.ref for row in store.contributions(TriageQuery(**query))]  # type: ignore[arg-type]


def test_a_recorded_review_reads_back_with_its_metadata(store: HistoryStore) -> None:
    seed(store)
    row = next(r for r in store.contributions(TriageQuery()) if r.number == 2)
    assert (row.verdict, row.head_sha, row.title, row.author) == ("fail", "b1", "PR 2", "alice")
    assert row.worst == Worst("pickle", "high", "model.bin", "bad opcode")
    assert row.counts["high"] == 1 and row.size_bytes == 10
    assert row.opened_at == T0 + timedelta(days=1) and row.reviewed_at == T0 + timedelta(days=2)
    hf = next(r for r in store.contributions(TriageQuery()) if r.platform == "hf")
    assert hf.base_models == ["base/x"] and hf.licence == "apache-2.0"
    assert row.to_json()["worst"]["rule"] == "pickle"


def test_sorts(store: HistoryStore) -> None:
    seed(store)
    # failing first, then error, warn, never reviewed, pass
    assert refs(store) == [
        "github:o/a#2",
        "hf:org/m#0",
        "github:o/b#3",
        "github:o/b#4",
        "github:o/a#1",
    ]
    assert refs(store, sort="age") == [
        "github:o/a#1",
        "github:o/a#2",
        "github:o/b#3",
        "github:o/b#4",
        "hf:org/m#0",
    ]
    store.record_contribution(meta("o/a", 1, days=0, updated_at=T0 + timedelta(days=30)))
    assert refs(store, sort="updated")[0] == "github:o/a#1"


def test_filters_and_paging(store: HistoryStore) -> None:
    seed(store)
    assert refs(store, repos=("github:o/b",), sort="age") == ["github:o/b#3", "github:o/b#4"]
    assert refs(store, verdicts=("fail", "none")) == ["github:o/a#2", "github:o/b#4"]
    assert refs(store, visible_repos=frozenset({"hf:org/m"})) == ["hf:org/m#0"]
    assert refs(store, visible_repos=frozenset()) == []
    assert refs(store, since=T0 + timedelta(days=3), sort="age") == [
        "github:o/b#3",
        "github:o/b#4",
        "hf:org/m#0",
    ]
    assert refs(store, sort="age", limit=2, offset=1) == ["github:o/a#2", "github:o/b#3"]
    assert store.count(TriageQuery(verdicts=("fail", "warn"))) == 2
    store.set_state("github", "o/a", 2, "merged", T0 + timedelta(days=9))
    assert "github:o/a#2" not in refs(store)
    assert refs(store, state="closed") == ["github:o/a#2"]
    assert store.count(TriageQuery(state="all")) == 5


def test_history_is_append_only_and_the_latest_review_shows(store: HistoryStore) -> None:
    store.record_review(meta("o/a", 7, days=0), review("fail", head="old", at=T0, rule="pickle"))
    store.record_review(
        meta("o/a", 7, days=5), review("pass", head="new", at=T0 + timedelta(hours=1))
    )
    [row] = store.contributions(TriageQuery())
    assert (row.head_sha, row.verdict, row.worst) == ("new", "pass", None)
    assert row.opened_at == T0  # the first-seen opening time is kept
    assert [r.head_sha for r in store.reviews_of("github", "o/a", 7)] == ["new", "old"]
    assert store.reviews_of("github", "o/a", 7)[1].findings[0]["rule"] == "pickle"


def test_state_changes_keep_every_transition(store: HistoryStore) -> None:
    store.record_contribution(meta("o/a", 8, days=0))
    assert store.set_state("github", "o/a", 8, "closed", T0 + timedelta(days=1))
    assert store.set_state("github", "o/a", 8, "open", T0 + timedelta(days=2))
    assert store.set_state("github", "o/a", 8, "merged", T0 + timedelta(days=3))
    assert not store.set_state("github", "o/a", 99, "closed", T0)
    assert [s for s, _ in store.states_of("github", "o/a", 8)] == [
        "open",
        "closed",
        "open",
        "merged",
    ]
    assert store.count(TriageQuery(state="closed")) == 1


def test_chart_aggregates(store: HistoryStore) -> None:
    seed(store)
    store.record_review(
        meta("o/a", 9, days=8), review("fail", head="e", at=T0 + timedelta(days=8), rule="pickle")
    )
    weeks = {(w.week, w.verdict): w.count for w in store.verdicts_per_week()}
    assert weeks[("2026-11-02", "fail")] == 1 and weeks[("2026-11-09", "fail")] == 1
    assert weeks[("2026-11-02", "pass")] == 1
    assert store.top_rules() == [("pickle", 2)]
    assert store.push_to_verdict_seconds() == [3.0] * 5


def test_ten_thousand_contributions_page_quickly(store: HistoryStore) -> None:
    import time

    from sqlalchemy import insert

    from reviewbot.history.schema import Contribution, Review

    rows = [
        {"platform": "github", "repo": f"o/r{i % 50}", "number": i + 1, "kind": "pull_request",
         "title": "", "author": "", "first_time": False, "base_models": [], "state": "open",
         "opened_at": T0 + timedelta(minutes=i), "url": ""}
        for i in range(10_000)
    ]  # fmt: skip
    with store.engine.begin() as connection:
        connection.execute(insert(Contribution), rows)
        reviews = [
            {"contribution_id": i + 1, "head_sha": f"h{j}", "reason": "review",
             "verdict": ("pass", "fail", "warn")[(i + j) % 3], "critical": 0, "high": 0,
             "medium": 0, "low": 0, "info": 0, "findings": [], "files": [],
             "started_at": T0, "finished_at": T0 + timedelta(hours=j, minutes=i),
             "duration_seconds": 1.0, "reviewbot_version": "1", "policy_fingerprint": "x"}
            for i in range(10_000) for j in range(2)
        ]  # fmt: skip
        connection.execute(insert(Review), reviews)
        if connection.dialect.name == "postgresql":
            # autovacuum would gather statistics soon after a load this size; do it now
            connection.exec_driver_sql("ANALYZE")
    began = time.perf_counter()
    page = store.contributions(TriageQuery(limit=50, offset=100))
    total = store.count(TriageQuery(verdicts=("fail",)))
    elapsed = time.perf_counter() - began
    assert len(page) == 50 and all(row.verdict == "fail" for row in page)
    assert total == sum(1 for i in range(10_000) if (i + 1) % 3 == 1)
    assert elapsed < 1.5, f"a page of 10,000 took {elapsed:.2f}s"
