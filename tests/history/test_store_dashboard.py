"""The reads the dashboard adds: one contribution, the repositories, charts per repository."""

from __future__ import annotations

from datetime import timedelta

from reviewbot.history.store import HistoryStore
from tests.history.test_store import T0, meta, review, seed


def test_one_contribution_reads_back_with_its_latest_review(store: HistoryStore) -> None:
    seed(store)
    row = store.contribution("github", "o/a", 2)
    assert row is not None and (row.verdict, row.head_sha) == ("fail", "b1")
    never = store.contribution("github", "o/b", 4)
    assert never is not None and never.verdict is None
    assert store.contribution("github", "o/a", 99) is None
    assert store.contribution("hf", "o/a", 2) is None


def test_the_repositories_are_listed_once_each(store: HistoryStore) -> None:
    seed(store)
    assert store.repositories() == ["github:o/a", "github:o/b", "hf:org/m"]


def test_charts_count_only_the_repositories_asked_for(store: HistoryStore) -> None:
    seed(store)
    only_b = frozenset({"github:o/b"})
    assert store.top_rules() == [("pickle", 1)]
    assert store.top_rules(repos=only_b) == []
    assert [(w.verdict, w.count) for w in store.verdicts_per_week(repos=only_b)] == [("warn", 1)]
    assert store.push_to_verdict_seconds(repos=frozenset()) == []


def test_the_push_to_verdict_histogram_counts_in_sql_what_the_seconds_say(
    store: HistoryStore,
) -> None:
    seed(store)  # four reviews of pushes, 3 s each, and one of 7 minutes
    late = review("pass", head="z", at=T0 + timedelta(days=9))
    late = type(late)(**{**late.__dict__, "started_at": late.finished_at - timedelta(minutes=7)})
    store.record_review(meta("o/a", 1, days=0), late)
    bounds = (2.0, 10.0, 300.0)
    assert store.push_to_verdict_histogram(bounds) == [0, 4, 0, 1]
    assert store.push_to_verdict_histogram(bounds, repos=frozenset({"github:o/b"})) == [0, 1, 0, 0]
    seconds = store.push_to_verdict_seconds()
    assert len(seconds) == sum(store.push_to_verdict_histogram(bounds))
