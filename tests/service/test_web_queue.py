"""With REDIS_URL: deliveries land as Celery messages on the ``reviews`` queue in a real Redis."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from reviewbot import dispatch
from reviewbot.dedup import KEY_PREFIX
from reviewbot.web import create_app
from tests.service.web_helpers import (
    fixture,
    free_port,
    make_settings,
    metric,
    post_github,
    post_hf,
    request,
    serve,
)

PR_SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


def queued(client: redis.Redis, queue: str = "reviews") -> list[dict[str, Any]]:
    """Every Celery message waiting on ``queue``, decoded: task name, kwargs, headers."""
    messages = []
    for raw in client.lrange(queue, 0, -1):
        envelope = json.loads(raw)
        body = envelope["body"]
        if envelope["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, kwargs, _embed = json.loads(body)
        headers = envelope["headers"]
        messages.append({"task": headers["task"], "args": args, "kwargs": kwargs, **headers})
    return messages


@pytest.fixture
def addr(redis_url: str, client: redis.Redis) -> Iterator[str]:
    with serve(create_app(make_settings(redis_url=redis_url))) as addr:
        yield addr
    dispatch.shutdown()


def test_an_opened_pull_request_is_queued_for_a_worker(
    addr: str, client: redis.Redis, shared_dir: Path
) -> None:
    body = fixture(shared_dir, "github/pull_request.opened.json")
    answer = post_github(addr, "pull_request", body, delivery="d-opened")
    assert (answer.status, answer.body["outcome"]) == (202, "queued")
    (message,) = queued(client)
    assert message["task"] == "reviewbot.review"
    assert message["args"] == []
    assert message["kwargs"] == {
        "platform": "github",
        "repo": "Codertocat/Hello-World",
        "number": 2,
        "head_sha": PR_SHA,
        "kind": "pull_request",
        "installation_id": 1,
        "reason": "review",
        "requested_by": None,
    }
    assert isinstance(message["reviewbot_enqueued_at"], float)  # for the queue-latency metric
    ttl = client.ttl(KEY_PREFIX + "github:d-opened")
    assert 6 * 24 * 3600 < ttl <= 7 * 24 * 3600
    queued_metric = metric(addr, "reviewbot_submissions_total", platform="github", mode="celery")
    assert queued_metric >= 1


def test_a_redelivery_is_not_queued_twice_even_by_another_web_process(
    addr: str, redis_url: str, client: redis.Redis, shared_dir: Path
) -> None:
    body = fixture(shared_dir, "github/pull_request.synchronize.json")
    assert post_github(addr, "pull_request", body, delivery="d-sync").body["outcome"] == "queued"
    assert post_github(addr, "pull_request", body, delivery="d-sync").body["outcome"] == "duplicate"
    second_dispatcher = dispatch.CeleryDispatcher(redis_url)
    other = create_app(make_settings(redis_url=redis_url), dispatcher=second_dispatcher)
    with serve(other) as other_addr:
        answer = post_github(other_addr, "pull_request", body, delivery="d-sync")
        assert answer.body["outcome"] == "duplicate"
    second_dispatcher.close()
    assert len(queued(client)) == 1


def test_a_badly_signed_delivery_leaves_redis_untouched(
    addr: str, client: redis.Redis, shared_dir: Path
) -> None:
    body = fixture(shared_dir, "github/pull_request.opened.json")
    assert post_github(addr, "pull_request", body, delivery="d-bad", secret="nope").status == 401
    assert client.dbsize() == 0


def test_a_hub_recheck_is_queued_with_the_requester(
    addr: str, client: redis.Redis, shared_dir: Path
) -> None:
    body = fixture(shared_dir, "huggingface/discussion.comment.create.on-pr.CONSTRUCTED.json")
    assert post_hf(addr, body).body["outcome"] == "queued"
    (message,) = queued(client)
    assert message["kwargs"]["platform"] == "hf"
    assert message["kwargs"]["reason"] == "recheck"
    assert message["kwargs"]["requested_by"] == "65f0c0ffee0000000000b002"


def test_health_reports_redis(addr: str) -> None:
    answer = request(addr, "GET", "/healthz")
    assert (answer.status, answer.body) == (200, {"status": "ok", "mode": "celery", "redis": "ok"})


def test_with_redis_down_health_is_503_and_deliveries_are_refused(shared_dir: Path) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    with serve(create_app(make_settings(redis_url=dead))) as addr:
        health = request(addr, "GET", "/healthz")
        assert (health.status, health.body["redis"]) == (503, "down")
        body = fixture(shared_dir, "github/pull_request.opened.json")
        answer = post_github(addr, "pull_request", body, delivery="d-down")
        # 503 tells GitHub the delivery failed, so it can be redelivered from the UI.
        assert (answer.status, answer.body["outcome"]) == (503, "unavailable")
        assert answer.seconds < 5
    dispatch.shutdown()
