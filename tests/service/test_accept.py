"""``/reviewbot accept`` and the check run's Accept button against the fake GitHub: a maintainer's
accept lets a finding pass with its note, for that file content only, and never a critical one."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reviewbot.events import RoutingPolicy, route_github
from reviewbot.history.waivers import SqlWaivers
from reviewbot.models import ContributionRef, Platform
from reviewbot.platforms.github import GitHubPlatform
from reviewbot.service import ReviewInputs, review_contribution
from reviewbot.waivers import ACTION_IDENTIFIER, CRITICAL_NOTE
from tests.fakes.fake_github import FakeGitHub
from tests.service.conftest import APP_ID, CLEAN_CARD, hostile_checkpoint

_NUMBERS = iter(range(1, 10_000))
ROOT = Path(__file__).resolve().parents[2]
APACHE = (ROOT / "checks" / "licence" / "texts" / "apache-2.0.txt").read_bytes()
BASE = {"README.md": CLEAN_CARD, "LICENSE": APACHE}
BOT = "reviewbot[bot]"


def unknown_pickle(name: bytes = b"Thing") -> bytes:
    """A pickle naming a class of the contributor's own module: high, not critical. Built as
    bytes, never loaded."""
    return b"\x80\x02cmymodule\n" + name + b"\n)R."


ARGS = {"training_args.bin": unknown_pickle()}


@pytest.fixture
def inputs(gh: GitHubPlatform, tmp_path: Path) -> ReviewInputs:
    """The service's inputs with the waivers in a real (SQLite) history database."""
    store = SqlWaivers(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    return replace(ReviewInputs.of(None, gh), waivers=store)


@pytest.fixture
def pull(github: FakeGitHub) -> Iterator[tuple[str, str]]:
    repo = f"acme/accept-{next(_NUMBERS)}"
    github.add_repo(repo, files=dict(BASE), permissions={"maintainer": "write"})
    yield repo, github.open_pull(repo, 1, ARGS)


def ref_of(repo: str, head: str | None = None) -> ContributionRef:
    return ContributionRef(Platform.GITHUB, repo, 1, head_sha=head, installation_id=4242)


def accept(
    github: FakeGitHub,
    gh: GitHubPlatform,
    inputs: ReviewInputs,
    repo: str,
    login: str,
    text: str = "unknown-import training_args.bin -- our own class, vetted",
) -> tuple[int, Any]:
    cid = int(github.add_comment(repo, 1, f"/reviewbot accept {text}", login=login)["id"])
    outcome = review_contribution(
        ref_of(repo),
        reason="accept",
        requested_by=login,
        platform=gh,
        inputs=inputs,
        comment_id=cid,
        accept=text,
    )
    return cid, outcome


def verdict_comment(github: FakeGitHub, repo: str) -> str:
    [body] = [c["body"] for c in github.comments(repo, 1) if c["user"]["login"] == BOT]
    return str(body)


def test_a_maintainer_accept_turns_the_fail_into_a_pass_with_who_and_why(
    github: FakeGitHub, gh: GitHubPlatform, inputs: ReviewInputs, pull: tuple[str, str]
) -> None:
    repo, head = pull
    assert review_contribution(ref_of(repo, head), platform=gh, inputs=inputs).verdict == "fail"
    [failing] = github.our_runs(repo, head)
    assert [a["identifier"] for a in failing["actions"]] == [ACTION_IDENTIFIER]

    cid, outcome = accept(github, gh, inputs, repo, "maintainer")

    assert (outcome.status, outcome.verdict, outcome.accepted) == ("posted", "pass", 1)
    body = verdict_comment(github, repo)
    assert "reviewbot: pass" in body
    assert "accepted by maintainer: our own class, vetted" in body
    run = github.our_runs(repo, head)[-1]  # the accept's own run, newest
    assert (run["status"], run["conclusion"]) == ("completed", "success")
    assert "accepted by maintainer: our own class, vetted" in run["output"]["summary"]
    assert run["actions"] == []  # nothing left to accept
    assert github.labels(repo, 1) == ["reviewbot: pass"]
    assert github.reactions(repo, cid) == [f"{BOT}:eyes", f"{BOT}:rocket"]
    assert len(github.comments(repo, 1)) == 2  # the verdict and the command: no reply
    [waiver] = inputs.waivers.of("github", repo, 1)
    assert (waiver.accepted_by, waiver.rule) == ("maintainer", "weights/unknown-import")


def test_an_outsider_accept_changes_nothing_but_a_thumbs_down(
    github: FakeGitHub,
    gh: GitHubPlatform,
    inputs: ReviewInputs,
    pull: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="reviewbot")
    repo, head = pull
    review_contribution(ref_of(repo, head), platform=gh, inputs=inputs)
    before = verdict_comment(github, repo)

    cid, outcome = accept(github, gh, inputs, repo, "passer-by")

    assert outcome.status == "refused"
    assert "review refused: accept asked by a non-collaborator" in caplog.messages
    assert verdict_comment(github, repo) == before
    assert github.labels(repo, 1) == ["reviewbot: fail"]
    assert github.reactions(repo, cid) == [f"{BOT}:-1"]
    assert inputs.waivers.of("github", repo, 1) == []


def test_a_push_that_changes_the_accepted_file_raises_the_finding_again(
    github: FakeGitHub, gh: GitHubPlatform, inputs: ReviewInputs, pull: tuple[str, str]
) -> None:
    repo, head = pull
    review_contribution(ref_of(repo, head), platform=gh, inputs=inputs)
    accept(github, gh, inputs, repo, "maintainer")

    # another file changes: the accepted one is the same content, still accepted
    other = github.push(repo, 1, {"notes.txt": b"training notes\n"})
    assert review_contribution(ref_of(repo, other), platform=gh, inputs=inputs).verdict == "pass"
    changed = github.push(repo, 1, {"training_args.bin": unknown_pickle(b"Other")})
    outcome = review_contribution(ref_of(repo, changed), platform=gh, inputs=inputs)

    assert outcome.verdict == "fail"
    body = verdict_comment(github, repo)
    assert "reviewbot: fail" in body and "accepted by" not in body
    assert github.labels(repo, 1) == ["reviewbot: fail"]


def test_a_critical_finding_cannot_be_accepted_by_a_comment(
    github: FakeGitHub, gh: GitHubPlatform, inputs: ReviewInputs, pull: tuple[str, str]
) -> None:
    repo, _ = pull
    head = github.push(repo, 1, {"pytorch_model.bin": hostile_checkpoint()})
    review_contribution(ref_of(repo, head), platform=gh, inputs=inputs)

    cid, outcome = accept(github, gh, inputs, repo, "maintainer", "unsafe-import -- trust me")

    assert (outcome.verdict, outcome.accepted) == ("fail", 0)
    body = verdict_comment(github, repo)
    assert CRITICAL_NOTE.split(":")[0] in body.replace("\\", "")
    assert "pytorch\\_model.bin" in body or "pytorch_model.bin" in body
    assert github.reactions(repo, cid) == [f"{BOT}:eyes", f"{BOT}:confused"]
    assert inputs.waivers.of("github", repo, 1) == []


def test_a_malformed_accept_is_acknowledged_and_records_nothing(
    github: FakeGitHub, gh: GitHubPlatform, inputs: ReviewInputs, pull: tuple[str, str]
) -> None:
    repo, head = pull
    review_contribution(ref_of(repo, head), platform=gh, inputs=inputs)

    cid, outcome = accept(github, gh, inputs, repo, "maintainer", "unknown-import")  # no reason

    assert (outcome.verdict, outcome.accepted) == ("fail", 0)
    assert github.reactions(repo, cid) == [f"{BOT}:eyes", f"{BOT}:confused"]


def requested_action(repo: str, head: str, login: str) -> dict[str, Any]:
    """The ``check_run.requested_action`` payload GitHub sends when the button is clicked."""
    return {
        "action": "requested_action",
        "requested_action": {"identifier": ACTION_IDENTIFIER},
        "check_run": {
            "head_sha": head,
            "app": {"id": APP_ID},
            "external_id": ref_of(repo, head).key,
            "pull_requests": [{"number": 1}],
        },
        "repository": {"full_name": repo},
        "installation": {"id": 4242},
        "sender": {"login": login, "type": "User"},
    }


@pytest.mark.parametrize(("login", "verdict"), [("maintainer", "pass"), ("passer-by", "fail")])
def test_the_check_run_accept_button_works_for_maintainers_only(
    github: FakeGitHub,
    gh: GitHubPlatform,
    inputs: ReviewInputs,
    pull: tuple[str, str],
    login: str,
    verdict: str,
) -> None:
    repo, head = pull
    review_contribution(ref_of(repo, head), platform=gh, inputs=inputs)

    decision = route_github(
        "check_run", requested_action(repo, head, login), RoutingPolicy(app_id=APP_ID)
    )
    [sub] = decision.submissions
    review_contribution(
        sub.ref,
        reason=sub.reason.value,
        requested_by=sub.requested_by,
        platform=gh,
        inputs=inputs,
        accept=sub.accept,
    )

    assert github.labels(repo, 1) == [f"reviewbot: {verdict}"]
    if verdict == "pass":
        assert "accepted by maintainer: accepted from the check run" in verdict_comment(
            github, repo
        )


def test_the_button_on_a_superseded_head_accepts_nothing(
    github: FakeGitHub, gh: GitHubPlatform, inputs: ReviewInputs, pull: tuple[str, str]
) -> None:
    repo, head = pull
    review_contribution(ref_of(repo, head), platform=gh, inputs=inputs)
    newer = github.push(repo, 1, {"training_args.bin": unknown_pickle(b"Other")})
    review_contribution(ref_of(repo, newer), platform=gh, inputs=inputs)

    # the maintainer clicks Accept on the run they saw, for the older commit
    payload = requested_action(repo, head, "maintainer")
    [sub] = route_github("check_run", payload, RoutingPolicy(app_id=APP_ID)).submissions
    outcome = review_contribution(
        sub.ref,
        reason="accept",
        requested_by="maintainer",
        platform=gh,
        inputs=inputs,
        accept=sub.accept,
    )

    assert outcome.status == "superseded"
    assert inputs.waivers.of("github", repo, 1) == []
    assert github.labels(repo, 1) == ["reviewbot: fail"]
