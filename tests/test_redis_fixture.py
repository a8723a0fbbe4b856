"""The private Redis the service tests run against answers real commands."""

from __future__ import annotations

import redis


def test_private_redis_answers(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    assert client.set("reviewbot:probe", "1", nx=True, ex=5)
    assert not client.set("reviewbot:probe", "1", nx=True, ex=5)  # set-if-absent holds
    assert client.get("reviewbot:probe") == b"1"
