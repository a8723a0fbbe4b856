"""The worker keeps consuming across a Redis restart, and the review it was running completes."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from reviewbot.models import ContributionRef, Platform
from tests.conftest import ROOT
from tests.fakes.fake_github import FakeGitHub
from tests.redis_server import RedisServer
from tests.service.celery_worker import Worker
from tests.service.conftest import APP_ID, CLEAN_CARD

pytestmark = pytest.mark.slow


@pytest.fixture
def redis_process(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_worker_survives_a_redis_restart_mid_review(
    redis_process: RedisServer, github: FakeGitHub, app_keys: tuple[str, str], tmp_path: Path
) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "HF_", "REVIEWBOT_"))
    }
    env.update(
        REDIS_URL=redis_process.url,
        GITHUB_APP_ID=str(APP_ID),
        GITHUB_PRIVATE_KEY=app_keys[0],
        GITHUB_WEBHOOK_SECRET="test-webhook-secret",
        GITHUB_API_URL=github.base_url,
        PYTHONPATH=str(ROOT),
    )
    worker = Worker(env, tmp_path / "worker.log")
    worker.start()
    client = Celery("test-client", broker=redis_process.url)
    client.conf.task_serializer = "json"
    try:
        first, second = "acme/restart-1", "acme/restart-2"
        github.add_repo(first)
        github.add_repo(second)
        sha1 = github.open_pull(first, 1, {"README.md": CLEAN_CARD})
        sha2 = github.open_pull(second, 1, {"README.md": CLEAN_CARD})
        github.slow("GET", rf"^/repos/{first}/contents/", 6)
        ref = ContributionRef(Platform.GITHUB, first, 1, head_sha=sha1, installation_id=4242)
        client.send_task("reviewbot.review", kwargs=ref.to_dict(), queue="reviews")
        wait = time.monotonic() + 30
        while not github.requests("GET", rf"^/repos/{first}/contents/"):
            assert time.monotonic() < wait, "the review never started"
            time.sleep(0.1)

        redis_process.stop()  # mid-review, and nothing persisted
        time.sleep(2)
        redis_process.start()

        # The running review finishes and posts its verdict ...
        deadline = time.monotonic() + 60
        while not github.labels(first, 1):
            assert worker.proc is not None and worker.proc.poll() is None, worker.log.read_text()
            assert time.monotonic() < deadline, "the running review was lost"
            time.sleep(0.2)
        # ... and the worker still consumes what is queued after the restart.
        ref2 = ContributionRef(Platform.GITHUB, second, 1, head_sha=sha2, installation_id=4242)
        deadline = time.monotonic() + 60
        sent = False
        while not github.labels(second, 1):
            if not sent:
                try:
                    client.send_task("reviewbot.review", kwargs=ref2.to_dict(), queue="reviews")
                    sent = True
                except Exception:  # the client's own reconnect may lag the server's restart
                    time.sleep(0.5)
                    continue
            assert worker.proc is not None and worker.proc.poll() is None, worker.log.read_text()
            assert time.monotonic() < deadline, "the worker stopped consuming after the restart"
            time.sleep(0.2)
        assert len(github.comments(first, 1)) == 1 and len(github.comments(second, 1)) == 1
        assert "Unrecoverable error" not in worker.log.read_text()
    finally:
        client.close()
        worker.stop()
