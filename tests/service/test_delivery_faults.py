"""Exactly one verdict for the latest head when GitHub misbehaves: partial failures, races,
rate limits and look-alike check runs, against the fault-injecting fake GitHub."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from reviewbot.errors import TransientError
from reviewbot.models import ContributionRef, Platform
from reviewbot.platforms.github import GitHubPlatform
from reviewbot.publish_lock import LocalLocks, PublishLocks, RedisLocks
from reviewbot.service import ReviewInputs, ReviewOutcome, hub_access, review_contribution
from tests.fakes.fake_github import FakeGitHub
from tests.service.conftest import CLEAN_CARD

_NUMBERS = iter(range(1, 10_000))
SECONDARY_LIMIT = {"message": "You have exceeded a secondary rate limit. Please wait."}


def new_pull(github: FakeGitHub, files: dict[str, bytes] | None = None) -> tuple[str, str]:
    repo = f"acme/faults-{next(_NUMBERS)}"
    github.add_repo(repo, files={"README.md": CLEAN_CARD}, permissions={"maintainer": "write"})
    head = github.open_pull(repo, 1, files or {"notes.txt": b"hello\n"})
    return repo, head


def ref_of(repo: str, head: str | None) -> ContributionRef:
    return ContributionRef(Platform.GITHUB, repo, 1, head_sha=head, installation_id=4242)


def one_verdict(github: FakeGitHub, repo: str, head: str) -> dict[str, object]:
    """The pull request shows exactly one verdict, for ``head``, on one completed run of ours."""
    [comment] = github.comments(repo, 1)
    assert f"reviewbot:sha={head}" in str(comment["body"]).split("\n", 1)[0]
    [run] = github.our_runs(repo, head)
    assert run["status"] == "completed" and run["conclusion"], run
    return run


def test_a_comment_created_but_answered_502_is_not_posted_twice(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo, head = new_pull(github)
    github.fail("POST", rf"^/repos/{repo}/issues/1/comments$", 502, after=True)

    outcome = review_contribution(ref_of(repo, head), platform=gh)

    assert outcome.status == "posted"
    one_verdict(github, repo, head)
    assert len(github.requests("POST", rf"^/repos/{repo}/issues/1/comments$")) == 1


def test_a_check_run_created_but_answered_502_is_reused(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo, head = new_pull(github)
    github.fail("POST", rf"^/repos/{repo}/check-runs$", 502, after=True)

    assert review_contribution(ref_of(repo, head), platform=gh).status == "posted"

    one_verdict(github, repo, head)


def test_a_completing_patch_that_fails_is_tried_again_until_the_run_completes(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo, head = new_pull(github)
    github.fail("PATCH", rf"^/repos/{repo}/check-runs/\d+$", 502, times=2)

    assert review_contribution(ref_of(repo, head), platform=gh).status == "posted"

    one_verdict(github, repo, head)


def test_another_apps_run_named_reviewbot_is_neither_taken_nor_touched(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo, head = new_pull(github)
    foreign = github.add_foreign_run(repo, head, name="reviewbot", status="in_progress")

    outcome = review_contribution(ref_of(repo, head), platform=gh)

    assert outcome.status == "posted" and outcome.verdict != "error"
    one_verdict(github, repo, head)
    assert foreign["status"] == "in_progress" and foreign["requests"] == 1
    assert not github.requests("PATCH", rf"/check-runs/{foreign['id']}$")


@pytest.fixture(params=["in-process", "redis"])
def locks(request: pytest.FixtureRequest) -> PublishLocks:
    if request.param == "redis":
        redis_url: str = request.getfixturevalue("redis_url")
        return RedisLocks(redis_url)
    return LocalLocks()


def test_a_push_review_and_a_recheck_at_once_leave_one_verdict(
    github: FakeGitHub, gh: GitHubPlatform, locks: PublishLocks
) -> None:
    repo, head = new_pull(github)
    # both jobs are mid-review at the same time: their downloads are slow
    github.slow("GET", rf"^/repos/{repo}/contents/", 1.5, times=2)
    inputs = ReviewInputs(hub_access(None), locks=locks)
    outcomes: list[ReviewOutcome] = []

    def job(reason: str, requested_by: str | None) -> None:
        ref = ref_of(repo, head if reason == "review" else None)
        outcomes.append(
            review_contribution(
                ref, reason=reason, requested_by=requested_by, platform=gh, inputs=inputs
            )
        )

    threads = [
        threading.Thread(target=job, args=("review", None)),
        threading.Thread(target=job, args=("recheck", "maintainer")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(o.status for o in outcomes) == ["posted", "posted"]
    one_verdict(github, repo, head)


def test_a_rate_limited_comment_during_a_push_never_posts_the_old_verdict(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo, old = new_pull(github)
    pushed: list[str] = []
    github.fail(
        "POST",
        rf"^/repos/{repo}/issues/1/comments$",
        403,
        headers={"Retry-After": "120"},  # longer than a job sleeps: the task retries later
        body=SECONDARY_LIMIT,
        then=lambda: pushed.append(github.push(repo, 1, {"notes.txt": b"second\n"})),
    )

    with pytest.raises(TransientError) as raised:
        review_contribution(ref_of(repo, old), platform=gh)
    assert raised.value.retry_after == 120

    # the task's retry of the old delivery, then the new head's own delivery
    assert review_contribution(ref_of(repo, old), platform=gh).status == "superseded"
    [new] = pushed
    assert review_contribution(ref_of(repo, new), platform=gh).status == "posted"
    one_verdict(github, repo, new)
    assert all(r["conclusion"] == "cancelled" for r in github.our_runs(repo, old))
    assert old[:12] not in github.comments(repo, 1)[0]["body"]


def test_a_secondary_rate_limit_on_a_download_waits_instead_of_failing(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo, head = new_pull(github, {"notes.txt": b"hello\n"})
    github.fail(
        "GET", rf"^/repos/{repo}/contents/notes.txt$", 403, headers={"Retry-After": "90"},
        body=SECONDARY_LIMIT,
    )  # fmt: skip

    with pytest.raises(TransientError):
        review_contribution(ref_of(repo, head), platform=gh)
    assert github.comments(repo, 1) == []  # no error verdict while the platform asks to wait

    assert review_contribution(ref_of(repo, head), platform=gh).status == "posted"
    run = one_verdict(github, repo, head)
    assert run["conclusion"] != "failure"


def test_a_secondary_rate_limit_on_the_lfs_batch_waits_instead_of_failing(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo = f"acme/faults-{next(_NUMBERS)}"
    github.add_repo(repo, files={"README.md": CLEAN_CARD})
    weights = b"\x00" * 4096
    head = github.open_pull(repo, 1, {"weights.bin": weights}, lfs=frozenset({"weights.bin"}))
    github.fail("POST", r"\.git/info/lfs/objects/batch$", 403, body=SECONDARY_LIMIT)

    with pytest.raises(TransientError):
        review_contribution(ref_of(repo, head), platform=gh)
    assert github.comments(repo, 1) == []

    assert review_contribution(ref_of(repo, head), platform=gh).status == "posted"
    one_verdict(github, repo, head)


def test_a_redelivery_after_a_half_finished_publish_completes_the_run(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    """The comment went out, then the job died before completing its check run: the same
    delivery again is not "already posted" until the run is complete too."""
    repo, head = new_pull(github)
    github.fail("PATCH", rf"^/repos/{repo}/check-runs/\d+$", 502, times=20)
    with pytest.raises(TransientError):
        review_contribution(ref_of(repo, head), platform=gh)
    assert [r["status"] for r in github.our_runs(repo, head)] == ["in_progress"]
    github.failures.clear()

    again = review_contribution(ref_of(repo, head), platform=gh)

    assert again.status == "posted"
    one_verdict(github, repo, head)


def test_an_error_verdict_never_replaces_a_verdict_already_out(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    from reviewbot.service import post_error

    repo, head = new_pull(github)
    assert review_contribution(ref_of(repo, head), platform=gh).status == "posted"
    before = github.comments(repo, 1)[0]["body"]

    late = post_error(ref_of(repo, head), "a job that gave up late", platform=gh)

    assert late.status == "unchanged"
    assert github.comments(repo, 1)[0]["body"] == before
    one_verdict(github, repo, head)


def test_a_superseded_head_during_the_write_cancels_our_run(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo, old = new_pull(github)
    new: list[str] = []
    # a push lands while the verdict's comment is being written: the retry must see it
    github.fail(
        "POST", rf"^/repos/{repo}/issues/1/comments$", 502,
        then=lambda: new.append(github.push(repo, 1, {"later.txt": b"x\n"})),
    )  # fmt: skip

    outcome = review_contribution(ref_of(repo, old), platform=gh)

    assert outcome.status == "superseded"
    assert github.comments(repo, 1) == []
    assert [r["conclusion"] for r in github.our_runs(repo, old)] == ["cancelled"]
    assert review_contribution(replace(ref_of(repo, new[0])), platform=gh).status == "posted"
