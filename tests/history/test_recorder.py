"""The background recorder on SQLite and PostgreSQL: writes land, failures retry, nothing waits."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reviewbot.history.engine import safe_url
from reviewbot.history.recorder import HistoryRecorder, HistoryWriter
from reviewbot.history.store import ContributionMeta, HistoryStore, ReviewRecord
from tests.redis_server import free_port

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "hunter2-not-logged"


def meta(number: int = 1) -> ContributionMeta:
    return ContributionMeta("github", "acme/model", number, "pull_request", T0, title="Add")


def review(head: str, verdict: str = "pass") -> ReviewRecord:
    return ReviewRecord(
        head_sha=head, reason="review", verdict=verdict, started_at=T0,
        finished_at=T0 + timedelta(seconds=3), reviewbot_version="0.1.0", policy_fingerprint="p",
    )  # fmt: skip


def closed_port_url() -> str:
    return f"postgresql+pg8000://reviewbot:{PASSWORD}@127.0.0.1:{free_port()}/postgres"


def test_reviews_and_state_changes_reach_the_store(database_url: str) -> None:
    store = HistoryStore(database_url)
    recorder = HistoryRecorder(lambda: store, where=safe_url(database_url))
    recorder.record(meta(), review("a" * 40, "fail"))
    recorder.record(meta(), review("b" * 40, "pass"))
    recorder.set_state("github", "acme/model", 1, "merged", T0 + timedelta(days=1))
    assert recorder.flush(30)
    assert [r.head_sha for r in store.reviews_of("github", "acme/model", 1)] == ["b" * 40, "a" * 40]
    assert [s for s, _ in store.states_of("github", "acme/model", 1)] == ["open", "merged"]
    recorder.close()


def test_a_state_change_of_an_unknown_contribution_is_let_go(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = HistoryStore(database_url)
    recorder = HistoryRecorder(lambda: store)
    with caplog.at_level(logging.INFO, logger="reviewbot.history.recorder"):
        recorder.set_state("github", "acme/model", 404, "closed", T0)
        assert recorder.flush(30)
    assert store.states_of("github", "acme/model", 404) == []
    assert "never reviewed" in caplog.text and recorder.failed == 0


def test_a_database_that_is_down_is_retried_then_given_up_without_its_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = closed_port_url()
    recorder = HistoryRecorder(
        lambda: HistoryStore(url), where=safe_url(url), attempts=3, first_wait=0.01
    )
    with caplog.at_level(logging.WARNING, logger="reviewbot.history.recorder"):
        recorder.record(meta(), review("c" * 40))
        assert recorder.flush(60)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("history write failed" in m for m in messages) == 2
    assert any("given up after 3 attempts" in m for m in messages)
    assert recorder.failed == 1 and recorder.written == 0
    for record in caplog.records:
        assert PASSWORD not in record.getMessage()
        assert all(PASSWORD not in str(value) for value in vars(record).values())
    assert {getattr(r, "database", "") for r in caplog.records} == {safe_url(url)}


class _FlakyOpen:
    """Opens the real store, but the first ``failures`` times the database "is not up yet"."""

    def __init__(self, url: str, failures: int) -> None:
        self.url, self.failures = url, failures

    def __call__(self) -> HistoryWriter:
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("database starting")
        return HistoryStore(self.url)


def test_a_database_back_after_failures_gets_the_write(database_url: str) -> None:
    recorder = HistoryRecorder(_FlakyOpen(database_url, 2), attempts=4, first_wait=0.01)
    recorder.record(meta(), review("d" * 40))
    assert recorder.flush(30)
    assert recorder.written == 1 and recorder.failed == 0
    assert len(HistoryStore(database_url).reviews_of("github", "acme/model", 1)) == 1


class _SlowStore:
    """A store whose first write waits until the test lets it go: a database that hangs."""

    def __init__(self, inner: HistoryStore) -> None:
        self.inner = inner
        self.entered, self.release = threading.Event(), threading.Event()

    def record_review(self, meta: ContributionMeta, review: ReviewRecord) -> int:
        self.entered.set()
        assert self.release.wait(30)
        return self.inner.record_review(meta, review)

    def set_state(self, platform: str, repo: str, number: int, state: str, at: datetime) -> bool:
        return self.inner.set_state(platform, repo, number, state, at)


def test_a_hung_database_never_holds_the_caller_and_overflow_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    slow = _SlowStore(HistoryStore(f"sqlite:///{tmp_path}/h.sqlite3"))
    recorder = HistoryRecorder(lambda: slow, max_pending=1)
    recorder.record(meta(1), review("e" * 40))
    assert slow.entered.wait(30)  # the writer holds the first, the queue has room for one more
    recorder.record(meta(2), review("f" * 40))
    recorder.record(meta(3), review("0" * 40))  # returns at once: dropped, not waited on
    assert recorder.dropped == 1 and "queue full" in caplog.text
    slow.release.set()
    assert recorder.flush(30)
    assert [len(slow.inner.reviews_of("github", "acme/model", n)) for n in (1, 2, 3)] == [1, 1, 0]


def test_close_writes_what_is_queued_and_refuses_more(tmp_path: Path) -> None:
    store = HistoryStore(f"sqlite:///{tmp_path}/h.sqlite3")
    recorder = HistoryRecorder(lambda: store)
    for n in range(1, 6):
        recorder.record(meta(n), review("1" * 40))
    recorder.close()
    assert sum(len(store.reviews_of("github", "acme/model", n)) for n in range(1, 6)) == 5
    recorder.record(meta(9), review("2" * 40))
    assert recorder.dropped == 1 and store.reviews_of("github", "acme/model", 9) == []
