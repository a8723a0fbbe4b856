"""A quiet bot against the fake GitHub and Hub: it speaks only when it has something new to say."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save

from reviewbot.markers import posted_fingerprint
from reviewbot.models import ContributionRef, Kind, Platform
from reviewbot.platforms.github import GitHubPlatform
from reviewbot.platforms.hub import HubPlatform
from reviewbot.service import ReviewInputs, post_error, review_contribution
from tests.fakes import fake_hub
from tests.fakes.fake_github import FakeGitHub
from tests.fakes.fake_hub import FakeHub
from tests.service.conftest import CLEAN_CARD, hostile_checkpoint

_NUMBERS = iter(range(1, 10_000))
WRITES = ("POST", "PATCH", "PUT", "DELETE")
EVIL = {"pytorch_model.bin": hostile_checkpoint()}
ROOT = Path(__file__).resolve().parents[2]
APACHE = (ROOT / "checks" / "licence" / "texts" / "apache-2.0.txt").read_bytes()
BASE = {"README.md": CLEAN_CARD, "LICENSE": APACHE}


def weights(value: float = 1.0) -> bytes:
    return save({"w": np.full((4, 4), value, dtype=np.float32)}, metadata={"format": "pt"})


CLEAN = {"model.safetensors": weights()}


def new_pull(
    github: FakeGitHub, files: dict[str, bytes], *, policy: str | None = None
) -> tuple[str, str]:
    repo = f"acme/quiet-{next(_NUMBERS)}"
    base = dict(BASE)
    if policy is not None:
        base[".reviewbot.toml"] = policy.encode()
    github.add_repo(repo, files=base, permissions={"maintainer": "write"})
    return repo, github.open_pull(repo, 1, files)


def ref_of(repo: str, head: str | None = None) -> ContributionRef:
    return ContributionRef(Platform.GITHUB, repo, 1, head_sha=head, installation_id=4242)


def comment_edits(github: FakeGitHub, repo: str) -> int:
    """PATCH requests to comments: each one notifies everyone watching the pull request."""
    return len(github.requests("PATCH", rf"^/repos/{repo}/issues/comments/"))


def pull_writes(github: FakeGitHub, repo: str) -> list[str]:
    """Every write request to the repository (comments, check runs, labels, reactions)."""
    return [
        f"{r.method} {r.path}"
        for r in github.log
        if r.method in WRITES and r.path.startswith(f"/repos/{repo}/")
    ]


def test_a_passing_first_review_is_a_completed_check_run_and_no_comment(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo, head = new_pull(github, CLEAN)

    outcome = review_contribution(ref_of(repo, head), platform=gh)

    assert (outcome.status, outcome.verdict) == ("posted", "pass")
    assert github.comments(repo, 1) == []
    [run] = github.our_runs(repo, head)
    assert (run["status"], run["conclusion"]) == ("completed", "success")
    assert github.labels(repo, 1) == ["reviewbot: pass"]
    # the run is the record: the same delivery again is done, and writes nothing
    before = pull_writes(github, repo)
    assert review_contribution(ref_of(repo, head), platform=gh).status == "unchanged"
    assert pull_writes(github, repo) == before


def test_an_identical_review_of_a_new_commit_edits_nothing(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo, head = new_pull(github, {**EVIL, **CLEAN})
    assert review_contribution(ref_of(repo, head), platform=gh).verdict == "fail"
    [comment] = github.comments(repo, 1)
    said = comment["body"]

    # a push that changes nothing the review finds (other weights, as clean), then a re-check
    newer = github.push(repo, 1, {"model.safetensors": weights(2.0)})
    assert review_contribution(ref_of(repo, newer), platform=gh).verdict == "fail"
    assert review_contribution(ref_of(repo), reason="recheck", platform=gh).verdict == "fail"

    assert comment_edits(github, repo) == 0
    [comment] = github.comments(repo, 1)
    assert comment["body"] == said and comment["edits"] == 0
    # every started run still completes (the push's and the re-check's), each with the verdict
    runs = github.our_runs(repo, newer)
    assert [(r["status"], r["conclusion"]) for r in runs] == [("completed", "failure")] * 2


def test_a_changed_verdict_edits_the_comment_once(github: FakeGitHub, gh: GitHubPlatform) -> None:
    repo, head = new_pull(github, EVIL)
    review_contribution(ref_of(repo, head), platform=gh)
    [comment] = github.comments(repo, 1)
    failing = posted_fingerprint(comment["body"])

    fixed = github.push(repo, 1, {}, removed=frozenset(EVIL))
    assert review_contribution(ref_of(repo, fixed), platform=gh).verdict == "pass"
    review_contribution(ref_of(repo), reason="recheck", platform=gh)  # nothing new to say

    assert comment_edits(github, repo) == 1
    [comment] = github.comments(repo, 1)
    assert "reviewbot: pass" in comment["body"]  # a stale "fail" never stays
    assert posted_fingerprint(comment["body"]) not in (None, failing)
    assert github.labels(repo, 1) == ["reviewbot: pass"]


def test_on_failure_comments_only_for_a_failing_verdict_and_never_leaves_it_stale(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo, head = new_pull(github, CLEAN, policy='[notify]\ncomment = "on-failure"\n')
    assert review_contribution(ref_of(repo, head), platform=gh).verdict == "pass"
    assert github.comments(repo, 1) == []

    bad = github.push(repo, 1, EVIL)
    assert review_contribution(ref_of(repo, bad), platform=gh).verdict == "fail"
    [comment] = github.comments(repo, 1)
    assert "reviewbot: fail" in comment["body"]

    good = github.push(repo, 1, {}, removed=frozenset(EVIL))
    assert review_contribution(ref_of(repo, good), platform=gh).verdict == "pass"
    [comment] = github.comments(repo, 1)
    assert "reviewbot: pass" in comment["body"] and comment["edits"] == 1


def test_always_posts_a_passing_first_review_as_before(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo, head = new_pull(github, CLEAN, policy='[notify]\ncomment = "always"\n')
    review_contribution(ref_of(repo, head), platform=gh)
    [comment] = github.comments(repo, 1)
    assert "reviewbot: pass" in comment["body"]


def test_a_dry_run_posts_nothing_and_says_what_it_would_have_posted(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo, head = new_pull(github, EVIL)
    dry = replace(ReviewInputs.of(None, gh), dry_run=True)

    outcome = review_contribution(ref_of(repo, head), platform=gh, inputs=dry)
    error = post_error(ref_of(repo, head), "a review that timed out", platform=gh, inputs=dry)
    newer = github.push(repo, 1, {"notes.txt": b"more\n"})
    superseded = review_contribution(ref_of(repo, head), platform=gh, inputs=dry)

    assert pull_writes(github, repo) == []
    assert github.comments(repo, 1) == [] and github.our_runs(repo) == []
    assert github.labels(repo, 1) == []
    assert (outcome.status, outcome.verdict) == ("posted", "fail")
    assert "post the fail comment" in outcome.would
    assert any(w.startswith("complete the check run") for w in outcome.would)
    assert "would" in outcome.detail
    assert "post the error comment" in error.would
    assert superseded.status == "superseded" and newer not in (None, head)
    assert superseded.would == (f"cancel the check run on {head[:12]}",)


# -- the Hub ---------------------------------------------------------------------------------

WATCHED = "acme/base-7b"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[FakeHub]:
    yield from fake_hub.serve(tmp_path / "hub")


@pytest.fixture
def hub_platform(hub: FakeHub) -> HubPlatform:
    return HubPlatform(endpoint=hub.endpoint, token="hf_test_token_0000", watched=[WATCHED])


def hub_writes(hub: FakeHub) -> list[str]:
    # paths-info is a POST that only reads
    return [f"{m} {p}" for m, p in hub.requests if m in WRITES and "/paths-info/" not in p]


def test_a_new_fine_tune_gets_no_discussion_by_default(
    hub: FakeHub, hub_platform: HubPlatform
) -> None:
    card = f"---\nlicense: apache-2.0\nbase_model: {WATCHED}\n---\n# tune\n".encode()
    hub.add_repo("someone/tune", {"README.md": card, "pytorch_model.bin": hostile_checkpoint()})
    ref = ContributionRef(Platform.HF, "someone/tune", 0, kind=Kind.NEW_MODEL)

    outcome = review_contribution(ref, platform=hub_platform)

    assert (outcome.status, outcome.verdict) == ("logged", "fail")
    assert "REVIEWBOT_COMMENT_ON_NEW_MODELS" in outcome.detail
    assert hub.discussions.get("someone/tune", {}) == {}
    assert hub_writes(hub) == []


def test_on_the_hub_an_unchanged_recheck_edits_nothing(
    hub: FakeHub, hub_platform: HubPlatform
) -> None:
    hub.add_repo("org/model", BASE)
    number = hub.open_pr("org/model", CLEAN)
    ref = ContributionRef(Platform.HF, "org/model", number)
    # the Hub has no check run: a passing first review is still said in a comment
    assert review_contribution(ref, platform=hub_platform).verdict == "pass"
    assert len(hub.comments("org/model", number)) == 1
    hub.requests.clear()

    review_contribution(ref, reason="recheck", platform=hub_platform)

    assert hub_writes(hub) == []


# -- re-check commands are acknowledged by reactions, never by a comment ----------------------


def ask(github: FakeGitHub, repo: str, login: str) -> int:
    return int(github.add_comment(repo, 1, "/reviewbot recheck", login=login)["id"])


def test_an_accepted_recheck_is_seen_then_done_by_reactions(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo, _ = new_pull(github, CLEAN)
    cid = ask(github, repo, "maintainer")

    for _attempt in range(2):  # a retried job does not stack its reactions
        outcome = review_contribution(
            ref_of(repo), reason="recheck", requested_by="maintainer", platform=gh, comment_id=cid
        )
        assert outcome.verdict == "pass"

    assert github.reactions(repo, cid) == ["reviewbot[bot]:eyes", "reviewbot[bot]:rocket"]
    assert [c["id"] for c in github.comments(repo, 1)] == [cid]  # no reply, no verdict comment


def test_a_refused_recheck_gets_a_thumbs_down_and_nothing_else(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo, _ = new_pull(github, CLEAN)
    cid = ask(github, repo, "passer-by")

    outcome = review_contribution(
        ref_of(repo), reason="recheck", requested_by="passer-by", platform=gh, comment_id=cid
    )

    assert outcome.status == "refused"
    assert github.reactions(repo, cid) == ["reviewbot[bot]:-1"]
    assert [c["id"] for c in github.comments(repo, 1)] == [cid]
    assert github.our_runs(repo) == []


def test_a_dry_run_recheck_reacts_only_in_its_log(github: FakeGitHub, gh: GitHubPlatform) -> None:
    repo, _ = new_pull(github, CLEAN)
    cid = ask(github, repo, "maintainer")
    dry = replace(ReviewInputs.of(None, gh), dry_run=True)

    outcome = review_contribution(
        ref_of(repo),
        reason="recheck",
        requested_by="maintainer",
        platform=gh,
        comment_id=cid,
        inputs=dry,
    )

    assert github.reactions(repo, cid) == []
    assert [w for w in outcome.would if w.startswith("react")] == [
        f"react eyes on comment {cid}",
        f"react rocket on comment {cid}",
    ]
    assert pull_writes(github, repo) == []
