"""The Celery publish path with its kept producers: every message lands once, outages heal."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from reviewbot import dispatch
from reviewbot.models import ContributionRef, Kind, Platform
from tests.redis_server import RedisServer
from tests.service.test_web_queue import queued


def ref(number: int) -> ContributionRef:
    return ContributionRef(
        Platform.GITHUB, "acme/models", number, f"{number:040x}", Kind.PULL_REQUEST, 77
    )


@pytest.fixture
def celery(redis_url: str, client: redis.Redis) -> Iterator[dispatch.CeleryDispatcher]:
    dispatcher = dispatch.CeleryDispatcher(redis_url)
    yield dispatcher
    dispatcher.close()


def test_publishes_from_several_threads_each_land_once(
    celery: dispatch.CeleryDispatcher, client: redis.Redis
) -> None:
    def publish(first: int) -> None:
        for number in range(first, first + 50):
            celery.submit(ref(number), reason="review")

    threads = [threading.Thread(target=publish, args=(1 + 100 * i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    messages = queued(client)
    numbers = sorted(m["kwargs"]["number"] for m in messages)
    assert numbers == sorted(n for i in range(4) for n in range(1 + 100 * i, 51 + 100 * i))
    # What monitoring tools show for a task names the contribution, not a truncated repr.
    assert {m["kwargsrepr"] for m in messages} == {ref(n).key for n in numbers}
    assert {m["argsrepr"] for m in messages} == {"()"}


@pytest.mark.slow
def test_a_publish_after_a_redis_restart_gets_through(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    celery = dispatch.CeleryDispatcher(server.url)
    try:
        celery.submit(ref(1), reason="review")
        server.stop()
        started = time.monotonic()
        with pytest.raises(dispatch.DispatchError):
            celery.submit(ref(2), reason="review")
        assert time.monotonic() - started < 10
        server.start()
        celery.submit(ref(3), reason="review")  # the broken producer was dropped, not reused
        client = redis.Redis.from_url(server.url)
        assert [m["kwargs"]["number"] for m in queued(client)] == [3]
        client.close()
    finally:
        celery.close()
        server.stop()
