"""The sweeper re-queues reviews whose check runs were left open, then gives up with an error."""

from __future__ import annotations

import redis

from reviewbot.models import ContributionRef, Platform
from reviewbot.started_runs import KEY, RedisStartedRuns
from reviewbot.sweep import MAX_SWEEPS, sweep


def ref(number: int) -> ContributionRef:
    return ContributionRef(Platform.GITHUB, "acme/models", number, "d" * 40, installation_id=7)


def test_overdue_runs_are_requeued_then_given_an_error_and_live_ones_left_alone(
    redis_url: str, client: redis.Redis
) -> None:
    client.delete(KEY)
    runs = RedisStartedRuns(redis_url)
    stuck, live, closed = ref(1), ref(2), ref(3)
    for r in (stuck, live, closed):
        runs.started(r)
    runs.finished(closed)  # its verdict was posted
    client.zadd(KEY, {m: 0 for m in client.zrange(KEY, 0, -1) if b'"number": 1' in m})
    requeued: list[ContributionRef] = []
    errors: list[tuple[ContributionRef, str]] = []

    def one_round(older_than: float) -> None:
        sweep(
            runs,
            older_than=older_than,
            requeue=requeued.append,
            give_up=lambda r, why: errors.append((r, why)),
        )

    one_round(older_than=3600)  # only the stuck one is an hour old
    assert requeued == [stuck] and errors == []
    for _ in range(MAX_SWEEPS):  # every later round finds it overdue again
        one_round(older_than=-1)
    assert requeued.count(stuck) == MAX_SWEEPS
    [why] = [w for r, w in errors if r == stuck]
    assert "did not finish" in why
    assert stuck not in runs.overdue(-1)  # given up: not swept again
    assert closed not in runs.overdue(-1) and live in runs.overdue(-1)
