"""Whose verdict counts, who may ask for a re-check, long verdicts, failures that post an error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reviewbot import dispatch
from reviewbot.markers import MARKER, posted_fingerprint
from reviewbot.models import ContributionRef, Kind, Platform
from reviewbot.platforms import hub as hub_platform
from reviewbot.platforms.github import GitHubPlatform
from reviewbot.platforms.github import verdict as github_verdict
from reviewbot.platforms.hub import HubPlatform
from reviewbot.sample import build_sample
from reviewbot.service import post_error_safely, review_contribution
from tests.fakes import fake_hub
from tests.fakes.fake_github import FakeGitHub
from tests.fakes.fake_hub import FakeHub
from tests.service.conftest import APP_ID, CLEAN_CARD, commenting_on_new_models
from tests.service.web_helpers import HF_TOKEN, make_settings

_NUMBERS = iter(range(1, 10_000))
SMALL_LIMIT = 1200  # a comment cap small enough for an ordinary verdict to go over it


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[FakeHub]:
    yield from fake_hub.serve(tmp_path / "hub")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The sample contribution: its many findings make a long verdict."""
    folder = build_sample(tmp_path_factory.mktemp("sample") / "contribution")
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def new_repo(github: FakeGitHub, **permissions: str) -> str:
    name = f"acme/safety-{next(_NUMBERS)}"
    github.add_repo(name, files={"README.md": CLEAN_CARD}, permissions=permissions)
    return name


def pull_ref(repo: str, number: int, head: str | None = None) -> ContributionRef:
    return ContributionRef(Platform.GITHUB, repo, number, head_sha=head, installation_id=4242)


# -- 1: only this App's comment is the verdict ----------------------------------------------


def test_another_bots_marker_comment_is_not_taken_for_our_verdict(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo = new_repo(github)
    head = github.open_pull(repo, 1, {"notes.txt": b"hello\n"})
    # Another App echoes contributor text that mimics a passing verdict for this very head.
    forged = (
        f"{MARKER}<!-- reviewbot:sha={head} -->\n✅ **reviewbot: pass**\n"
        f"<!-- reviewbot:sha={head} -->\n"
    )
    github.add_comment(repo, 1, forged, login="echo-bot[bot]", app_id=777)

    outcome = review_contribution(pull_ref(repo, 1, head), platform=gh)

    assert outcome.status == "posted"
    forged_comment, ours = github.comments(repo, 1)
    assert forged_comment["body"] == forged and forged_comment["edits"] == 0
    assert ours["performed_via_github_app"]["id"] == APP_ID
    assert ours["body"].startswith(MARKER) and head[:12] in ours["body"]
    [run] = github.runs(repo, head)
    assert run["status"] == "completed"


# -- 3: a numeric login is a login, not somebody else's user id ------------------------------


def test_a_numeric_login_does_not_borrow_another_users_permission(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo = new_repo(github, maintainer="maintain")
    github.users[31337] = "maintainer"  # the maintainer's user id, also someone else's login
    head = github.open_pull(repo, 2, {"notes.txt": b"hello\n"})

    refused = review_contribution(
        pull_ref(repo, 2), reason="recheck", requested_by="31337", platform=gh
    )
    assert refused.status == "refused"
    assert github.comments(repo, 2) == [] and github.runs(repo, head) == []
    allowed = review_contribution(
        pull_ref(repo, 2), reason="recheck", requested_by="maintainer", platform=gh
    )
    assert allowed.status == "posted"


# -- 4: a verdict over the cap keeps its sha marker, so a re-delivery is a no-op -------------


def test_a_truncated_github_verdict_is_still_recognised(
    github: FakeGitHub,
    gh: GitHubPlatform,
    hostile: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(github_verdict, "SUMMARY_LIMIT", SMALL_LIMIT)
    repo = new_repo(github)
    head = github.open_pull(repo, 3, hostile)
    ref = pull_ref(repo, 3, head)

    assert review_contribution(ref, platform=gh).status == "posted"
    [comment] = github.comments(repo, 3)
    assert len(comment["body"]) <= SMALL_LIMIT
    assert comment["body"].endswith("…(truncated by reviewbot)\n")
    first_line = comment["body"].split("\n", 1)[0]
    # both hidden markers (the commit, the fingerprint of what it says) survive the cut
    assert first_line.startswith(f"{MARKER}<!-- reviewbot:sha={head} -->")
    assert posted_fingerprint(first_line) is not None

    # The same delivery again: recognised as done, not reviewed and posted again.
    again = review_contribution(ref, platform=gh)
    assert again.status == "unchanged"
    [comment] = github.comments(repo, 3)
    assert comment["edits"] == 0
    assert len(github.runs(repo, head)) == 1


def test_a_hub_verdict_is_capped_and_still_recognised(
    hub: FakeHub, hostile: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub_platform, "COMMENT_LIMIT", SMALL_LIMIT, raising=False)
    platform = HubPlatform(endpoint=hub.endpoint, token="hf_test_token_0000")
    hub.add_repo("org/model", {"README.md": CLEAN_CARD})
    number = hub.open_pr("org/model", hostile)
    ref = ContributionRef(Platform.HF, "org/model", number)

    first = review_contribution(ref, platform=platform)
    assert first.status == "posted" and first.verdict == "fail"
    [comment] = hub.comments("org/model", number)
    body = comment["data"]["latest"]["raw"]
    assert len(body) <= SMALL_LIMIT and body.endswith("…(truncated by reviewbot)\n")
    assert review_contribution(ref, platform=platform).status == "unchanged"
    [comment] = hub.comments("org/model", number)
    assert not comment["data"]["edited"]


# -- 6: base models' cards come from the configured Hub, with its token ----------------------


def test_a_gated_base_card_is_read_from_the_configured_hub(
    github: FakeGitHub, gh: GitHubPlatform, hub: FakeHub
) -> None:
    base_card = b"---\nlicense: apache-2.0\n---\n# The gated base\n"
    hub.add_repo("acme/gated-base", {"README.md": base_card})
    hub.gated.add("acme/gated-base")
    repo = new_repo(github)
    card = b"---\nlicense: apache-2.0\nbase_model: acme/gated-base\n---\n# A fine-tune\n"
    head = github.open_pull(repo, 4, {"README.md": card})
    settings = make_settings(hf_endpoint=hub.endpoint, hf_token=HF_TOKEN)

    outcome = review_contribution(pull_ref(repo, 4, head), platform=gh, settings=settings)

    assert outcome.status == "posted"
    # the card was asked of the configured Hub (a cached copy may spare the download itself)
    assert ("GET", "/api/models/acme/gated-base") in hub.requests
    [comment] = github.comments(repo, 4)
    assert "could not fetch its card" not in comment["body"]


# -- 7: watched base models match whatever their case ----------------------------------------


def test_watched_models_match_case_insensitively(hub: FakeHub) -> None:
    platform = HubPlatform(
        endpoint=hub.endpoint, token="hf_test_token_0000", watched=["Acme/Base-7B"]
    )
    card = b"---\nlicense: apache-2.0\nbase_model: acme/base-7b\n---\n# tune\n"
    # a fine-tune is reviewed once its card and its weights are there
    hub.add_repo("someone/tune", {"README.md": card, "adapter_model.safetensors": b"\0" * 16})
    ref = ContributionRef(Platform.HF, "someone/tune", 0, kind=Kind.NEW_MODEL)
    outcome = review_contribution(ref, platform=platform, inputs=commenting_on_new_models(platform))
    assert outcome.status == "posted", outcome.detail
    [discussion] = hub.discussions["someone/tune"].values()
    assert discussion["events"][0]["data"]["latest"]["raw"].startswith(MARKER)


# -- 8: a refused verdict becomes an error verdict, and the check run completes --------------


def test_a_refused_verdict_posts_an_error_and_completes_the_check_run(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo = new_repo(github)
    head = github.open_pull(repo, 5, {"notes.txt": b"hello\n"})
    github.fail(
        "POST",
        rf"^/repos/{repo}/issues/5/comments$",
        422,
        body={"message": "Validation Failed"},
    )

    outcome = review_contribution(pull_ref(repo, 5, head), platform=gh)

    assert outcome.status == "error"
    [comment] = github.comments(repo, 5)
    assert "reviewbot: error" in comment["body"] and "Validation Failed" in comment["body"]
    [run] = github.runs(repo, head)
    assert (run["status"], run["conclusion"]) == ("completed", "failure")


def test_an_embedded_review_that_crashes_posts_an_error(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo = new_repo(github)
    head = github.open_pull(repo, 6, {"notes.txt": b"hello\n"})

    def crashing(ref: ContributionRef, *, reason: str, requested_by: str | None) -> None:
        gh.begin(ref, head)  # the check run is open when the review blows up
        raise RuntimeError("/srv/internal/path exploded")

    pool = dispatch.InProcessDispatcher(
        crashing,
        workers=1,
        on_failure=lambda ref, message: post_error_safely(ref, message, platform=gh),
    )
    pool.submit(pull_ref(repo, 6, head), reason="review")
    pool.close(wait=True)

    [comment] = github.comments(repo, 6)
    assert "reviewbot: error" in comment["body"] and "RuntimeError" in comment["body"]
    assert "/srv/internal" not in comment["body"]  # internals stay in the logs
    [run] = github.runs(repo, head)
    assert (run["status"], run["conclusion"]) == ("completed", "failure")
