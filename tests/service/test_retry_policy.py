"""One retry policy: how long a failing review keeps trying, in Celery and in the embedded pool."""

from __future__ import annotations

import random
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviewbot import retry_policy
from reviewbot.dispatch import InProcessDispatcher
from reviewbot.errors import TransientError
from reviewbot.models import ContributionRef, Kind, Platform

REF = ContributionRef(Platform.GITHUB, "acme/models", 12, "a" * 40, Kind.PULL_REQUEST, 77)


def test_a_review_keeps_trying_for_more_than_half_an_hour_before_an_error_verdict() -> None:
    # even with every jittered wait at its least, a 120 s outage or a long rate limit is survived
    assert retry_policy.least_budget() >= 30 * 60
    rng = random.Random(7)
    waits = [retry_policy.countdown(n, rng=rng) for n in range(retry_policy.MAX_RETRIES)]
    assert sum(waits) >= 30 * 60
    assert max(waits) <= retry_policy.BACKOFF_CAP


@given(retries=st.integers(0, 1000), after=st.floats(0, 10**7, allow_nan=False))
def test_the_platforms_own_wait_is_honoured_but_bounded(retries: int, after: float) -> None:
    wait = retry_policy.countdown(retries, after)
    assert wait >= min(after, retry_policy.MAX_COUNTDOWN)
    assert wait <= retry_policy.MAX_COUNTDOWN + 1


@given(retries=st.integers(0, 10**6))
def test_backoff_grows_then_stays_capped(retries: int) -> None:
    wait = retry_policy.countdown(retries, rng=random.Random(retries))
    assert 0.5 <= wait <= retry_policy.BACKOFF_CAP
    assert retry_policy.backoff(retries + 1) >= retry_policy.backoff(retries)


def test_the_embedded_pool_retries_a_transient_failure_instead_of_posting_an_error() -> None:
    attempts: list[int] = []
    failures: list[str] = []
    done = threading.Event()

    def flaky(ref: ContributionRef, *, reason: str, requested_by: str | None) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise TransientError("GitHub unreachable", retry_after=0.05)
        done.set()

    pool = InProcessDispatcher(flaky, on_failure=lambda ref, why: failures.append(why))
    try:
        pool.submit(REF, reason="review")
        assert done.wait(10)
    finally:
        pool.close(wait=True)
    assert len(attempts) == 3 and failures == []


def test_the_embedded_pool_posts_an_error_once_the_retries_are_spent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(retry_policy, "MAX_RETRIES", 2)
    failures: list[str] = []
    gave_up = threading.Event()

    def down(ref: ContributionRef, *, reason: str, requested_by: str | None) -> None:
        raise TransientError("HTTP 502: GitHub is down", retry_after=0.01)

    def record(ref: ContributionRef, why: str) -> None:
        failures.append(why)
        gave_up.set()

    pool = InProcessDispatcher(down, on_failure=record)
    try:
        pool.submit(REF, reason="review")
        assert gave_up.wait(10)
    finally:
        pool.close(wait=True)
    [why] = failures
    assert "still failing after 2 retries" in why and "GitHub is down" in why
    assert pool.pending == 0  # its slot is free again
