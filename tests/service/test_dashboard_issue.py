"""The opt-in dashboard issue on GitHub: one issue, edited in place, and its recheck boxes."""

from __future__ import annotations

import copy
import json
from typing import Any

from reviewbot.dashboard import update_dashboard
from reviewbot.events import Outcome, Reason, RoutingPolicy, route_github
from reviewbot.markers import DASHBOARD_MARKER
from reviewbot.models import ContributionRef, Platform
from reviewbot.platforms.github import GitHubPlatform
from reviewbot.service import review_contribution
from reviewbot.triage_issue import ticked
from tests.conftest import SHARED
from tests.fakes.fake_github import FakeGitHub
from tests.service.conftest import APP_ID, CLEAN_CARD

_NUMBERS = iter(range(1, 10_000))
OPT_IN = b"[triage]\ndashboard-issue = true\n"


def new_repo(github: FakeGitHub, files: dict[str, bytes] | None = None) -> str:
    name = f"acme/dashboard-{next(_NUMBERS)}"
    github.add_repo(name, files=files or {}, permissions={"maintainer": "write"})
    return name


def ref(repo: str, number: int = 0) -> ContributionRef:
    return ContributionRef(Platform.GITHUB, repo, number, installation_id=4242)


def open_pull(github: FakeGitHub, repo: str, number: int, title: str, labels: list[str]) -> None:
    github.open_pull(repo, number, {"README.md": CLEAN_CARD})
    pull = github.repos[repo].pulls[number]
    pull.title, pull.author = title, f"contributor{number}"
    github.repos[repo].labels[number] = labels


def dashboards(github: FakeGitHub, repo: str) -> list[dict[str, Any]]:
    return [i for i in github.issues(repo) if i["body"].startswith(DASHBOARD_MARKER)]


def test_two_updates_leave_one_issue_edited_in_place(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo = new_repo(github)
    open_pull(github, repo, 1, "Quantised weights", ["reviewbot: fail"])
    open_pull(github, repo, 2, "Card typo", [])
    first = update_dashboard(gh, ref(repo))
    [issue] = dashboards(github, repo)
    assert issue["number"] == first and issue["performed_via_github_app"]["id"] == APP_ID
    assert "## Failing (1)" in issue["body"] and "## Not reviewed yet (1)" in issue["body"]
    assert "Quantised weights" in issue["body"]

    github.repos[repo].labels[2] = ["reviewbot: pass"]  # the second one was reviewed meanwhile
    assert update_dashboard(gh, ref(repo)) == first
    [issue] = dashboards(github, repo)
    assert "## Passing (1)" in issue["body"] and "Not reviewed yet" not in issue["body"]
    assert len(github.requests("POST", rf"^/repos/{repo}/issues$")) == 1
    assert len(github.requests("PATCH", rf"^/repos/{repo}/issues/{first}$")) == 1


def test_a_create_answered_502_does_not_make_a_second_issue(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo = new_repo(github)
    open_pull(github, repo, 1, "Fine-tune", ["reviewbot: warn"])
    github.fail("POST", rf"^/repos/{repo}/issues$", 502, after=True)  # created, but answered 502
    number = update_dashboard(gh, ref(repo))
    [issue] = dashboards(github, repo)
    assert issue["number"] == number and "## Warnings (1)" in issue["body"]
    update_dashboard(gh, ref(repo))
    assert len(dashboards(github, repo)) == 1


def test_a_create_that_really_failed_is_made_once_more(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo = new_repo(github)
    github.fail("POST", rf"^/repos/{repo}/issues$", 502)  # nothing was created
    update_dashboard(gh, ref(repo))
    [issue] = dashboards(github, repo)
    assert "No open pull requests." in issue["body"]


def test_someone_elses_issue_with_the_marker_is_not_ours(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo = new_repo(github)
    forged = github.add_issue(repo, "dashboard", DASHBOARD_MARKER + "\nmine", login="mallory")
    number = update_dashboard(gh, ref(repo))
    assert number != forged["number"]
    assert github.repos[repo].issues[forged["number"]]["body"] == DASHBOARD_MARKER + "\nmine"


def test_a_review_updates_the_dashboard_only_when_the_policy_asks(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    opted_in = new_repo(github, {".reviewbot.toml": OPT_IN})
    quiet = new_repo(github)
    for repo in (opted_in, quiet):
        open_pull(github, repo, 1, "New weights", [])
        outcome = review_contribution(ref(repo, 1), platform=gh)
        assert outcome.status == "posted"
    assert dashboards(github, quiet) == []
    [issue] = dashboards(github, opted_in)
    verdict = github.labels(opted_in, 1)[0].removeprefix("reviewbot: ")
    heading = {"pass": "Passing", "warn": "Warnings", "fail": "Failing"}[verdict]
    assert f"## {heading} (1)" in issue["body"] and "<!-- recheck:1 -->" in issue["body"]


# ---- ticking a box


def edited(repo: str, body: str, before: str, *, editor: str, app_id: int = APP_ID) -> Any:
    """An ``issues`` ``edited`` delivery, its issue and sender shaped as GitHub sends them."""
    fixture = SHARED / "fixtures" / "webhooks" / "github"
    base = json.loads((fixture / "issue_comment.created.json").read_text("utf-8"))
    issue = copy.deepcopy(base["issue"])
    issue.pop("pull_request", None)
    issue.update(body=body, performed_via_github_app={"id": app_id, "slug": "reviewbot"})
    sender = {**base["sender"], "login": editor, "type": "User"}
    return {
        "action": "edited",
        "issue": issue,
        "changes": {"body": {"from": before}},
        "repository": {**base["repository"], "full_name": repo},
        "sender": sender,
        "installation": {"id": 4242},
    }


def test_a_ticked_box_queues_a_recheck_and_the_rewrite_unticks_it(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo = new_repo(github)
    open_pull(github, repo, 1, "Fine-tune", ["reviewbot: fail"])
    open_pull(github, repo, 2, "Adapter", ["reviewbot: pass"])
    update_dashboard(gh, ref(repo))
    [issue] = dashboards(github, repo)
    before = issue["body"]
    after = before.replace("- [ ] <!-- recheck:2 -->", "- [x] <!-- recheck:2 -->")
    policy = RoutingPolicy(app_id=APP_ID)
    decision = route_github("issues", edited(repo, after, before, editor="maintainer"), policy)
    assert decision.outcome is Outcome.QUEUED
    [job] = decision.submissions
    assert (job.ref.repo, job.ref.number, job.reason, job.requested_by) == (
        repo,
        2,
        Reason.RECHECK,
        "maintainer",
    )
    outcome = review_contribution(
        job.ref, reason=job.reason, requested_by=job.requested_by, platform=gh
    )
    assert outcome.status == "posted"
    # the review rewrote nothing here (no policy file), so rewrite as the next verdict would
    github.repos[repo].issues[issue["number"]]["body"] = after
    update_dashboard(gh, ref(repo))
    assert ticked(github.repos[repo].issues[issue["number"]]["body"]) == set()


def test_a_box_ticked_by_a_non_collaborator_rechecks_nothing(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo = new_repo(github)
    open_pull(github, repo, 1, "Fine-tune", ["reviewbot: fail"])
    update_dashboard(gh, ref(repo))
    [issue] = dashboards(github, repo)
    before = issue["body"]
    after = before.replace("- [ ]", "- [x]")
    decision = route_github(
        "issues", edited(repo, after, before, editor="passer-by"), RoutingPolicy(app_id=APP_ID)
    )
    [job] = decision.submissions  # routing cannot tell; the worker asks GitHub
    outcome = review_contribution(
        job.ref, reason=job.reason, requested_by=job.requested_by, platform=gh
    )
    assert outcome.status == "refused"
    assert github.comments(repo, 1) == [] and github.runs(repo) == []


def test_edits_that_are_not_a_new_tick_on_our_dashboard_do_nothing() -> None:
    repo = "acme/llm"
    before = f"{DASHBOARD_MARKER}\n- [ ] <!-- recheck:4 --> recheck #4"
    after = before.replace("- [ ]", "- [x]")
    policy = RoutingPolicy(app_id=APP_ID)
    cases = {
        "unticked": edited(repo, before, after, editor="maintainer"),
        "another app's issue": edited(repo, after, before, editor="maintainer", app_id=1),
        "not the dashboard": edited(repo, after.replace(DASHBOARD_MARKER, ""), before, editor="m"),
    }
    title_only = edited(repo, after, before, editor="maintainer")
    title_only["changes"] = {"title": {"from": "old"}}
    cases["title only"] = title_only
    for name, payload in cases.items():
        decision = route_github("issues", payload, policy)
        assert decision.outcome is Outcome.IGNORED and not decision.submissions, name
    bot = edited(repo, after, before, editor="reviewbot[bot]")
    assert route_github("issues", bot, policy).outcome is Outcome.IGNORED
