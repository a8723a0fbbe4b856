"""Dispatch: the embedded pool runs reviews in-process; with Redis, Celery messages are queued."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from prometheus_client import REGISTRY

from reviewbot import dispatch
from reviewbot.models import ContributionRef, Kind, Platform
from tests.fakes.fake_github import FakeGitHub
from tests.service.conftest import APP_ID
from tests.service.test_web_queue import queued
from tests.service.web_helpers import GH_SECRET, TEST_KEY, Recorder, free_port

REF = ContributionRef(Platform.GITHUB, "acme/models", 12, "a" * 40, Kind.PULL_REQUEST, 77)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    dispatch.shutdown(wait=True)


def test_the_embedded_default_runs_the_review_in_process() -> None:
    recorder = Recorder()
    dispatch.configure(runner=recorder)
    dispatch.submit(REF, reason="recheck", requested_by="maintainer")
    (call,) = recorder.wait_for(1)
    assert (call.ref, call.reason, call.requested_by) == (REF, "recheck", "maintainer")
    assert call.thread.startswith("reviewbot-review")
    assert call.thread != threading.current_thread().name


def test_shutdown_waits_for_accepted_reviews() -> None:
    recorder = Recorder(delay=0.3)
    dispatch.configure(runner=recorder, workers=1)
    for _ in range(3):
        dispatch.submit(REF, reason="review")
    dispatch.shutdown(wait=True)
    assert len(recorder.calls) == 3


def test_the_pool_is_bounded() -> None:
    gate = threading.Event()

    def blocked(ref: ContributionRef, *, reason: str, requested_by: str | None) -> None:
        gate.wait(10)

    pool = dispatch.configure(runner=blocked, workers=1, max_pending=2)
    pool.submit(REF, reason="review")
    pool.submit(REF, reason="review")
    with pytest.raises(dispatch.Busy):
        pool.submit(REF, reason="review")
    gate.set()
    dispatch.shutdown(wait=True)


def test_a_crashing_review_is_counted_and_the_pool_keeps_working() -> None:
    def errors() -> float:
        value = REGISTRY.get_sample_value(
            "reviewbot_task_seconds_count", {"task": "reviewbot.review", "outcome": "error"}
        )
        return value or 0.0

    before = errors()
    failing = Recorder(fail=True)
    pool = dispatch.configure(runner=failing, workers=1)
    pool.submit(REF, reason="review")
    pool.submit(REF, reason="review")
    failing.wait_for(2)
    dispatch.shutdown(wait=True)
    assert errors() == before + 2


def test_celery_mode_publishes_the_task_by_name_on_the_reviews_queue(
    redis_url: str, client: redis.Redis
) -> None:
    dispatch.configure(redis_url=redis_url)
    dispatch.submit(REF, reason="review")
    (message,) = queued(client, "reviews")
    assert message["task"] == "reviewbot.review"
    assert message["kwargs"] == {**REF.to_dict(), "reason": "review", "requested_by": None}
    assert ContributionRef.from_dict(message["kwargs"]) == REF  # a worker rebuilds the same ref
    assert client.llen("evals") == 0


def test_celery_mode_fails_fast_when_redis_is_down() -> None:
    dispatch.configure(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises(dispatch.DispatchError):
        dispatch.submit(REF, reason="review")
    assert time.monotonic() - started < 10


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "HF_", "REDIS_", "REVIEWBOT_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "reviewbot", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**clean, **env},
        timeout=60,
    )


GITHUB_ENV = {
    "GITHUB_APP_ID": "2",
    "GITHUB_PRIVATE_KEY": TEST_KEY,
    "GITHUB_WEBHOOK_SECRET": GH_SECRET,
}


@pytest.mark.parametrize(
    "target",
    ["github:acme#3", "gitlab:acme/models#3", "hf:org/model", "github:acme/models#0", "hf:a/b#x"],
)
def test_recheck_rejects_a_bad_target(target: str) -> None:
    result = _cli("recheck", target, **GITHUB_ENV)
    assert result.returncode == 2
    assert "github:OWNER/REPO#N or hf:ORG/MODEL#N" in result.stderr


def test_recheck_enqueues_for_the_workers(redis_url: str, client: redis.Redis) -> None:
    result = _cli("recheck", "github:acme/models#12", REDIS_URL=redis_url, **GITHUB_ENV)
    assert result.returncode == 0, result.stderr
    assert "queued" in result.stdout
    (message,) = queued(client)
    assert message["kwargs"] == {
        **ContributionRef(Platform.GITHUB, "acme/models", 12).to_dict(),
        "reason": "recheck",
        "requested_by": None,  # the operator holds the credentials: no permission check
    }


def test_recheck_needs_the_target_platform_configured(redis_url: str, client: redis.Redis) -> None:
    result = _cli("recheck", "hf:org/model#3", REDIS_URL=redis_url, **GITHUB_ENV)
    assert result.returncode == 2
    assert "HF_TOKEN" in result.stderr
    assert client.llen("reviews") == 0


def test_recheck_inline_reports_a_platform_error_without_a_traceback(
    github: FakeGitHub, app_keys: tuple[str, str]
) -> None:
    # the fake GitHub knows no such repository: no installation covers it
    result = _cli(
        "recheck",
        "github:acme/not-installed#1",
        "--inline",
        GITHUB_APP_ID=str(APP_ID),
        GITHUB_PRIVATE_KEY=app_keys[0],
        GITHUB_WEBHOOK_SECRET=GH_SECRET,
        GITHUB_API_URL=github.base_url,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "reviewbot: error: github:acme/not-installed#1: HTTP 404" in result.stderr
