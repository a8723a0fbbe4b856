"""A real Celery worker process on a private Redis reviews pull requests on the fake GitHub."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery

from reviewbot import retry_policy
from reviewbot.coalesce import PREFIX as PENDING_PREFIX
from reviewbot.dispatch import CeleryDispatcher
from reviewbot.models import ContributionRef, Platform
from reviewbot.platforms.github import GitHubPlatform
from reviewbot.publish_lock import lock_key
from reviewbot.sample import build_sample
from reviewbot.started_runs import KEY as STARTED_KEY
from reviewbot.started_runs import RedisStartedRuns
from tests.conftest import ROOT
from tests.fakes.fake_github import FakeGitHub
from tests.service.celery_worker import Worker
from tests.service.conftest import APP_ID, CLEAN_CARD

pytestmark = pytest.mark.slow
REPO_COUNTER = iter(range(1, 10_000))


@pytest.fixture(scope="module")
def worker_env(redis_url: str, github: FakeGitHub, app_keys: tuple[str, str]) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "HF_", "REVIEWBOT_"))
    }
    env.update(
        REDIS_URL=redis_url,
        GITHUB_APP_ID=str(APP_ID),
        GITHUB_PRIVATE_KEY=app_keys[0],
        GITHUB_WEBHOOK_SECRET="test-webhook-secret",
        GITHUB_API_URL=github.base_url,
        PYTHONPATH=str(ROOT),
    )
    return env


@pytest.fixture(scope="module")
def worker(
    worker_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    proc = Worker(worker_env, tmp_path_factory.mktemp("worker") / "worker.log")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def client(redis_url: str) -> Iterator[Celery]:
    """What the dispatcher does: send by task name, JSON, no import of the workers package."""
    app = Celery("test-client", broker=redis_url)
    app.conf.task_serializer = "json"
    yield app
    app.close()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = build_sample(tmp_path_factory.mktemp("sample") / "contribution")
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def enqueue(client: Celery, ref: ContributionRef, **extra: Any) -> None:
    client.send_task("reviewbot.review", kwargs={**ref.to_dict(), **extra}, queue="reviews")


def wait_for(check: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.1)


def new_repo(github: FakeGitHub, **permissions: str) -> str:
    name = f"acme/model-{next(REPO_COUNTER)}"
    github.add_repo(name, permissions=permissions)
    return name


def labelled(github: FakeGitHub, repo: str, number: int, old: str | None = None) -> bool:
    """The whole verdict is out: a new label and every check run completed (the run is the last
    write, so a label alone may still have its run in progress)."""
    runs = github.runs(repo)
    return any(label != old for label in github.labels(repo, number)) and all(
        run.get("status") == "completed" for run in runs
    )


def test_hostile_pull_request_fails_once_and_rerun_edits(
    worker: Worker, client: Celery, github: FakeGitHub, sample: dict[str, bytes]
) -> None:
    repo = new_repo(github)
    lfs = frozenset({"pytorch_model.bin", "model.safetensors", "training_args.bin"})
    sha = github.open_pull(repo, 1, sample, lfs=lfs)
    ref = ContributionRef(Platform.GITHUB, repo, 1, head_sha=sha, installation_id=4242)
    enqueue(client, ref, reason="review", requested_by=None)
    wait_for(lambda: labelled(github, repo, 1), what="the verdict label")

    [comment] = github.comments(repo, 1)
    assert comment["body"].startswith("<!-- reviewbot:verdict -->")
    assert "reviewbot: fail" in comment["body"] and sha[:12] in comment["body"]
    assert comment["user"]["type"] == "Bot"
    [run] = github.runs(repo, sha)
    assert run["conclusion"] == "failure" and run["annotations"]
    assert github.labels(repo, 1) == ["reviewbot: fail"]
    patches = github.requests("PATCH", r"/check-runs/") + github.requests("POST", r"/check-runs$")
    assert all(len((r.body.get("output") or {}).get("annotations", [])) <= 50 for r in patches)

    # The same delivery again: the verdict for this sha is already there, nothing changes.
    enqueue(client, ref)
    # A new push, with the hostile files gone: the same comment is edited, the label replaced.
    clean = {"README.md": CLEAN_CARD, "LICENSE": sample.get("LICENSE", b"Apache License 2.0\n")}
    sha2 = github.push(repo, 1, clean, removed=frozenset(sample) - {"README.md"})
    enqueue(client, ref.__class__(Platform.GITHUB, repo, 1, head_sha=sha2, installation_id=4242))
    wait_for(lambda: labelled(github, repo, 1, "reviewbot: fail"), what="the new label")
    [comment] = github.comments(repo, 1)
    assert comment["edits"] == 1 and sha2[:12] in comment["body"]
    assert len(github.runs(repo, sha)) == 1
    assert github.labels(repo, 1) in (["reviewbot: pass"], ["reviewbot: warn"])


def test_superseded_head_posts_nothing(worker: Worker, client: Celery, github: FakeGitHub) -> None:
    repo = new_repo(github)
    old = github.open_pull(repo, 2, {"README.md": CLEAN_CARD})
    new = github.push(repo, 2, {"notes.txt": b"later\n"})
    enqueue(client, ContributionRef(Platform.GITHUB, repo, 2, head_sha=old, installation_id=4242))
    enqueue(client, ContributionRef(Platform.GITHUB, repo, 2, head_sha=new, installation_id=4242))
    wait_for(lambda: labelled(github, repo, 2), what="the newer head's review")
    assert github.runs(repo, old) == []
    [comment] = github.comments(repo, 2)
    assert new[:12] in comment["body"] and comment["edits"] == 0


def test_recheck_needs_write_permission(worker: Worker, client: Celery, github: FakeGitHub) -> None:
    repo = new_repo(github, maintainer="maintain")
    sha = github.open_pull(repo, 3, {"README.md": CLEAN_CARD})
    ref = ContributionRef(Platform.GITHUB, repo, 3, installation_id=4242)
    enqueue(client, ref, reason="recheck", requested_by="passer-by")
    enqueue(client, ref, reason="recheck", requested_by="maintainer")
    wait_for(lambda: labelled(github, repo, 3), what="the maintainer's re-check")
    assert len(github.runs(repo, sha)) == 1
    assert len(github.comments(repo, 3)) == 1
    asked = [
        r.path.rsplit("/", 2)[-2] for r in github.requests("GET", rf"^/repos/{repo}/collaborators/")
    ]
    assert sorted(asked) == ["maintainer", "passer-by"]


def test_outage_and_rate_limit_are_retried(
    worker: Worker, client: Celery, github: FakeGitHub
) -> None:
    repo = new_repo(github)
    sha = github.open_pull(repo, 4, {"README.md": CLEAN_CARD})
    # More 502s than PyGithub's own retries: the task itself must retry with backoff.
    github.fail("GET", rf"^/repos/{repo}/pulls/4$", 502, times=4)
    # Then a primary rate limit whose reset is further away than the worker may sleep.
    reset = int(time.time()) + 3
    github.fail(
        "POST",
        rf"^/repos/{repo}/issues/4/comments$",
        403,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
        body={"message": "API rate limit exceeded for installation ID 4242."},
    )
    enqueue(client, ContributionRef(Platform.GITHUB, repo, 4, head_sha=sha, installation_id=4242))
    wait_for(lambda: labelled(github, repo, 4), timeout=60, what="the retried review")
    assert len(github.comments(repo, 4)) == 1
    assert len(github.requests("POST", rf"^/repos/{repo}/issues/4/comments$")) == 2
    assert len(github.runs(repo, sha)) == 1


def test_worker_killed_mid_review_completes_once_after_restart(
    worker: Worker, client: Celery, github: FakeGitHub
) -> None:
    repo = new_repo(github)
    sha = github.open_pull(repo, 5, {"README.md": CLEAN_CARD})
    # Hold the review at its download: answer that request only after the worker is dead.
    github.hold(rf"^/repos/{repo}/contents/")
    enqueue(client, ContributionRef(Platform.GITHUB, repo, 5, head_sha=sha, installation_id=4242))
    wait_for(lambda: github.held() > 0, what="the review to reach its download")
    worker.stop(signal.SIGKILL)
    github.release()
    worker.start()
    wait_for(lambda: labelled(github, repo, 5), timeout=60, what="the redelivered review")
    assert len(github.comments(repo, 5)) == 1
    assert len(github.runs(repo, sha)) == 1  # the in-progress run was reused, not duplicated


def test_a_review_out_of_retries_posts_an_error_and_completes_the_check_run(
    worker: Worker, client: Celery, github: FakeGitHub
) -> None:
    repo = new_repo(github)
    sha = github.open_pull(repo, 6, {"README.md": CLEAN_CARD})
    # The base branch's listing keeps failing once the check run is open...
    github.fail("GET", rf"^/repos/{repo}/contents/?$", 502, times=50)
    # ...and this delivery is already on its last attempt (as after every retry the policy allows).
    client.send_task(
        "reviewbot.review",
        kwargs={
            **ContributionRef(
                Platform.GITHUB, repo, 6, head_sha=sha, installation_id=4242
            ).to_dict(),
            "reason": "review",
        },
        queue="reviews",
        retries=retry_policy.MAX_RETRIES,
    )
    wait_for(lambda: bool(github.comments(repo, 6)), timeout=60, what="the error verdict")
    [comment] = github.comments(repo, 6)
    assert "reviewbot: error" in comment["body"] and "GitHub unreachable" in comment["body"]
    wait_for(
        lambda: all(r["status"] == "completed" for r in github.runs(repo, sha)),
        what="the check run to complete",
    )
    [run] = github.runs(repo, sha)
    assert run["conclusion"] == "failure"


def test_a_review_slower_than_the_visibility_timeout_runs_once(
    worker: Worker,
    client: Celery,
    github: FakeGitHub,
    worker_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """The worker renews its lease on the message: a long review is never handed out twice,
    though a second, idle worker sweeps for lapsed messages all the while."""
    idle = Worker(worker_env, tmp_path / "second-worker.log")
    idle.start()

    def reviewed(number: int, slow: bool) -> tuple[str, str]:
        repo = new_repo(github)
        sha = github.open_pull(repo, number, {"README.md": CLEAN_CARD})
        if slow:  # well past the test app's 6 s visibility timeout and its 1 s sweeps
            github.slow("GET", rf"^/repos/{repo}/contents/", 15)
        ref = ContributionRef(Platform.GITHUB, repo, number, head_sha=sha, installation_id=4242)
        enqueue(client, ref)
        wait_for(lambda: labelled(github, repo, number), timeout=90, what="the verdict")
        return repo, sha

    quick_repo, _ = reviewed(7, slow=False)
    repo, sha = reviewed(8, slow=True)
    time.sleep(8)  # a second delivery would have started and read the files again by now
    reads = len(github.requests("GET", rf"^/repos/{repo}/contents/"))
    assert reads == len(github.requests("GET", rf"^/repos/{quick_repo}/contents/"))
    idle.stop()
    assert len(github.comments(repo, 8)) == 1
    assert len(github.runs(repo, sha)) == 1


def test_a_finished_recheck_clears_its_pending_mark(
    worker: Worker, github: FakeGitHub, redis_url: str
) -> None:
    """Re-checks coalesce only while a review is queued or running: once the worker is done,
    the next one is queued again."""
    repo = new_repo(github, maintainer="write")
    github.open_pull(repo, 9, {"README.md": CLEAN_CARD})
    ref = ContributionRef(Platform.GITHUB, repo, 9, installation_id=4242)
    dispatcher = CeleryDispatcher(redis_url)
    store = redis.Redis.from_url(redis_url)
    try:
        dispatcher.submit(ref, reason="recheck", requested_by="maintainer")
        assert store.exists(PENDING_PREFIX + lock_key(ref))
        wait_for(lambda: labelled(github, repo, 9), what="the re-check's verdict")
        wait_for(lambda: not store.exists(PENDING_PREFIX + lock_key(ref)), what="the mark cleared")
        dispatcher.submit(ref, reason="recheck", requested_by="maintainer")
        wait_for(lambda: len(github.requests("PATCH", rf"^/repos/{repo}/check-runs/")) >= 2,
                 what="the second re-check")  # fmt: skip
    finally:
        dispatcher.close()


def test_a_check_run_left_in_progress_is_swept_and_completed(
    worker: Worker, github: FakeGitHub, redis_url: str, gh_platform: GitHubPlatform
) -> None:
    """A job that opened its run and then vanished for good (its message lost with a Redis
    that restarted without persistence): the sweeper queues the review again."""
    repo = new_repo(github)
    sha = github.open_pull(repo, 10, {"README.md": CLEAN_CARD})
    ref = ContributionRef(Platform.GITHUB, repo, 10, head_sha=sha, installation_id=4242)
    # what the lost job left behind: its run in progress, and the record of having opened it
    store = redis.Redis.from_url(redis_url)
    gh_platform.begin(ref, sha)
    RedisStartedRuns(redis_url).started(ref)
    store.zadd(STARTED_KEY, {json.dumps(ref.to_dict(), sort_keys=True): time.time() - 120})

    wait_for(lambda: labelled(github, repo, 10), timeout=60, what="the swept review's verdict")
    [comment] = github.comments(repo, 10)
    assert sha[:12] in comment["body"]
    wait_for(lambda: store.zscore(STARTED_KEY, json.dumps(ref.to_dict(), sort_keys=True)) is None,
             what="the record cleared")  # fmt: skip
    [run] = github.our_runs(repo, sha)  # the very run the lost job opened, now complete
    assert run["status"] == "completed" and run["conclusion"] in ("success", "neutral")
