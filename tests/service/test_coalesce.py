"""A hundred re-checks of one pull request queue one review, not a hundred."""

from __future__ import annotations

import threading

import redis

from reviewbot.dispatch import CeleryDispatcher, InProcessDispatcher
from reviewbot.models import ContributionRef, Kind, Platform
from tests.service.test_web_queue import queued


def pull(number: int, head: str | None = None) -> ContributionRef:
    return ContributionRef(Platform.GITHUB, "acme/models", number, head, Kind.PULL_REQUEST, 77)


def test_rechecks_while_a_review_runs_are_not_run_again_and_others_are_served() -> None:
    gate = threading.Event()
    calls: list[tuple[int, str]] = []
    lock = threading.Lock()

    def runner(ref: ContributionRef, *, reason: str, requested_by: str | None) -> None:
        with lock:
            calls.append((ref.number, reason))
        if ref.number == 1:
            gate.wait(10)

    pool = InProcessDispatcher(runner, workers=2, max_pending=8)
    try:
        for _ in range(100):
            pool.submit(pull(1), reason="recheck", requested_by="maintainer")
        pool.submit(pull(2, "b" * 40), reason="review")  # another pull request is not starved
        pool.submit(pull(1, "c" * 40), reason="review")  # a push is never coalesced
        gate.set()
    finally:
        pool.close(wait=True)
    assert sorted(calls) == [(1, "recheck"), (1, "review"), (2, "review")]


def test_a_recheck_after_the_review_finished_is_queued_again() -> None:
    calls: list[str] = []
    done = threading.Event()

    def runner(ref: ContributionRef, *, reason: str, requested_by: str | None) -> None:
        calls.append(reason)
        done.set()

    pool = InProcessDispatcher(runner, workers=1)
    try:
        for _ in range(2):
            done.clear()
            pool.submit(pull(3), reason="recheck")
            assert done.wait(10)
            while pool.pending:  # the job's slot (and its pending mark) is freed after it returns
                threading.Event().wait(0.01)
    finally:
        pool.close(wait=True)
    assert calls == ["recheck", "recheck"]


def test_with_redis_a_burst_of_rechecks_is_one_queued_message(
    redis_url: str, client: redis.Redis
) -> None:
    client.flushdb()
    dispatcher = CeleryDispatcher(redis_url)
    try:
        for _ in range(20):
            dispatcher.submit(pull(4), reason="recheck", requested_by="maintainer")
        dispatcher.submit(pull(5), reason="recheck", requested_by="maintainer")
    finally:
        dispatcher.close()
    messages = queued(client)
    assert sorted(m["kwargs"]["number"] for m in messages) == [4, 5]
