"""Turn a verified webhook delivery into review jobs (or a reason to do nothing); no I/O here.

Routing rules, GitHub:

* ``pull_request`` opened / synchronize / reopened → review at ``head.sha``; drafts are skipped
  unless ``REVIEWBOT_REVIEW_DRAFTS`` is on, and ``ready_for_review`` reviews them.
* ``issue_comment`` created on a pull request whose first line is the re-check command →
  re-check, ``requested_by`` = the commenter. The permission check needs an API call, so the worker
  makes it (write, maintain, admin re-run; anyone else is ignored without a reply, and logged).
  The payload has no head sha: the worker reviews the current head.
* ``issue_comment`` created on a pull request whose first line is the accept command
  (``/reviewbot accept RULE [PATH] -- reason``) → accept, ``requested_by`` = the commenter,
  ``accept`` = the command's arguments; the worker checks the permission as for a re-check and
  parses them (a malformed one is acknowledged with a reaction, so it goes to the worker too).
* ``check_run`` requested_action with our Accept button's identifier → accept of every
  non-critical finding at that run's head, ``requested_by`` = the sender (checked by the worker).
* ``check_run`` / ``check_suite`` rerequested → re-check of the linked pull requests (a check run
  from a fork lists none; then its ``external_id``, when it is a ``ContributionRef.key``, names it).
  ``requested_by`` stays None: GitHub shows the re-run button to writers only.
* ``issues`` edited, on this App's dashboard issue (``[triage] dashboard-issue``), whose body
  has a recheck box ticked that ``changes.body.from`` had unticked → re-check of that pull
  request, ``requested_by`` = the editor (the worker checks their permission, as for the
  command). The next rewrite of the dashboard unticks the box.
* ``pull_request`` closed (merged or not) and reopened → a state change for the history
  (``Decision.states``); reopened is reviewed as well.
* Anything a bot did (``type == "Bot"``, a ``[bot]`` login, our own login) is ignored, so the bot
  never answers itself. Installation events are only logged.

Hugging Face Hub (model repositories only: ``ContributionRef`` has no repository type):

* ``discussion`` create with ``isPullRequest`` → review (the worker resolves ``refs/pr/N``).
* ``repo.content`` update on ``refs/pr/N`` → review at that ref's ``newSha``.
* ``discussion`` update on a pull request → its status (open, closed, merged; a draft counts as
  open) as a state change for the history.
* ``discussion.comment`` create on a pull request with the re-check command → re-check,
  ``requested_by`` = the author's id (the Hub sends ids only, never usernames). With the fix
  command (``/reviewbot fix``) → a ``fix`` job: the worker checks the commenter may ask (the
  pull request's author or the repository's owner) and commits the review's text fixes.
  ``requested_by`` = the author's id (the Hub sends ids only, never usernames); with the accept
  command → accept, the same way as on GitHub.
* ``repo`` create, or any push to ``main`` → a ``new_model`` job, but only when the watch list
  is not empty. A repository starts with the Hub's own commit (``.gitattributes``), so a
  fine-tune uploaded with huggingface_hub arrives as a create of that commit and then pushes
  whose ``oldSha`` is not null; its card and weights may take several. When the payload carries
  ``base_model:`` tags they decide here; otherwise the worker reads the card and drops the job
  unless its ``base_model`` is watched, waits (skips) until card and weights are there, and
  reviews a new model once. The head sha comes from the raw ``repo.headSha`` (huggingface_hub's
  model maps it to ``head_sha`` and loses it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from reviewbot.markers import DASHBOARD_MARKER
from reviewbot.models import ContributionRef, Kind, Platform
from reviewbot.triage_issue import newly_ticked
from reviewbot.waivers import (
    ACCEPT_COMMAND,
    ACTION_IDENTIFIER,
    ACTION_REASON,
    EVERY_RULE,
    AcceptCommand,
    is_accept_command,
)

PR_ACTIONS = frozenset({"opened", "synchronize", "reopened", "ready_for_review"})
INSTALLATION_EVENTS = frozenset({"installation", "installation_repositories"})
_PR_REF = re.compile(r"^refs/pr/(\d+)$")
_MAIN_REFS = frozenset({"refs/heads/main", "refs/heads/master"})


class Reason(StrEnum):
    REVIEW = "review"
    RECHECK = "recheck"
    FIX = "fix"  # the Hub's `/reviewbot fix`: commit the review's text fixes
    ACCEPT = "accept"


class Outcome(StrEnum):
    """What became of a delivery; the ``outcome`` label of the deliveries metric."""

    QUEUED = "queued"
    IGNORED = "ignored"
    LOGGED = "logged"
    PING = "ping"
    DUPLICATE = "duplicate"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    BAD_REQUEST = "bad_request"
    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Submission:
    """One review job: what to review and why."""

    ref: ContributionRef
    reason: Reason
    requested_by: str | None = None
    # The GitHub comment that asked for a re-check: it gets reactions, never a reply.
    comment_id: int | None = None
    # An accept's ``RULE [PATH] -- reason`` (``reviewbot.waivers``), as written.
    accept: str | None = None


@dataclass(frozen=True)
class StateUpdate:
    """A contribution opened again, closed or merged, for the history; ``at`` None: on receipt."""

    ref: ContributionRef
    state: str  # open / closed / merged
    at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """The routing result: jobs to submit, or the outcome and a short note on why none; and
    state changes to record, whatever the outcome."""

    outcome: Outcome
    note: str = ""
    submissions: tuple[Submission, ...] = field(default_factory=tuple)
    states: tuple[StateUpdate, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class RoutingPolicy:
    """The settings routing depends on, kept apart so tests and benchmarks build it directly."""

    recheck_command: str = "/reviewbot recheck"
    fix_command: str = "/reviewbot fix"
    accept_command: str = ACCEPT_COMMAND
    review_drafts: bool = False
    bot_login: str | None = None
    app_id: int | None = None
    watched_models: tuple[str, ...] = ()


def _ignore(note: str) -> Decision:
    return Decision(Outcome.IGNORED, note)


def _queue(*subs: Submission) -> Decision:
    return Decision(Outcome.QUEUED, "", tuple(subs))


def is_recheck_command(body: str | None, command: str) -> bool:
    """The first non-empty line is the command (any case), so a reason may follow below it."""
    for line in (body or "").splitlines():
        if line.strip():
            return line.strip().casefold() == command.casefold()
    return False


def _is_bot(user: Mapping[str, Any] | None, policy: RoutingPolicy) -> bool:
    if not user:
        return False
    login = str(user.get("login") or "")
    own = policy.bot_login is not None and login.casefold() == policy.bot_login.casefold()
    return user.get("type") == "Bot" or login.endswith("[bot]") or own


def _installation(payload: Mapping[str, Any]) -> int | None:
    inst = payload.get("installation")
    return int(inst["id"]) if isinstance(inst, Mapping) and "id" in inst else None


def route_github(event: str, payload: Mapping[str, Any], policy: RoutingPolicy) -> Decision:
    """Route one verified GitHub delivery (``X-GitHub-Event`` and the parsed body)."""
    try:
        return _route_github(event, payload, policy)
    except (KeyError, TypeError, ValueError) as exc:
        # A signed payload missing fields we rely on: not ours to crash on, nothing to review.
        return Decision(Outcome.BAD_REQUEST, f"unexpected {event} payload ({exc!r})")


def _route_github(event: str, payload: Mapping[str, Any], policy: RoutingPolicy) -> Decision:
    action = str(payload.get("action") or "")
    if event == "ping":
        return Decision(Outcome.PING, "pong")
    if event in INSTALLATION_EVENTS:
        return Decision(Outcome.LOGGED, f"{event}.{action}")
    if _is_bot(payload.get("sender"), policy) and event != "pull_request":
        return _ignore("sent by a bot")
    repo = str(payload["repository"]["full_name"])
    installation_id = _installation(payload)

    if event == "pull_request":
        decision = _pull_request(action, payload, repo, installation_id, policy)
        state = _pull_state(action, payload["pull_request"])
        if state is None:
            return decision
        ref = ContributionRef(
            Platform.GITHUB, repo, int(payload["pull_request"]["number"]),
            installation_id=installation_id,
        )  # fmt: skip
        return replace(decision, states=(StateUpdate(ref, *state),))
    if event == "issue_comment":
        if action != "created":
            return _ignore(f"issue_comment.{action}")
        issue, comment = payload["issue"], payload["comment"]
        if not issue.get("pull_request"):
            return _ignore("comment on an issue, not a pull request")
        if _is_bot(comment.get("user"), policy):
            return _ignore("comment by a bot")
        if is_accept_command(comment.get("body"), policy.accept_command):
            accept = accept_arguments(comment.get("body"), policy.accept_command)
            return _github_command(payload, repo, installation_id, Reason.ACCEPT, accept)
        if not is_recheck_command(comment.get("body"), policy.recheck_command):
            return _ignore("not a re-check command")
        return _github_command(payload, repo, installation_id, Reason.RECHECK)

    if event == "issues":
        return _dashboard_edit(payload, repo, installation_id, policy)

    if event == "check_run" and action == "requested_action":
        return _accept_button(payload, repo, installation_id, policy)
    if event in ("check_run", "check_suite"):
        if action != "rerequested":
            return _ignore(f"{event}.{action}")
        obj = payload[event]
        app_id = (obj.get("app") or {}).get("id")
        if policy.app_id is not None and app_id is not None and int(app_id) != policy.app_id:
            return _ignore(f"{event} of another app")
        head_sha = str(obj["head_sha"])
        numbers = [int(pr["number"]) for pr in obj.get("pull_requests") or ()]
        if not numbers:
            linked = _linked_ref(str(obj.get("external_id") or ""))
            if linked is None or linked.repo != repo or linked.head_sha is None:
                return _ignore(f"{event} is not linked to a pull request")
            numbers, head_sha = [linked.number], linked.head_sha
        # The re-run button needs write access already: no requester for the worker to check.
        return _queue(
            *(
                Submission(
                    ContributionRef(
                        Platform.GITHUB, repo, n, head_sha, Kind.PULL_REQUEST, installation_id
                    ),
                    Reason.RECHECK,
                )
                for n in dict.fromkeys(numbers)
            )
        )
    return _ignore(f"{event} events are not handled")


def _pull_request(
    action: str,
    payload: Mapping[str, Any],
    repo: str,
    installation_id: int | None,
    policy: RoutingPolicy,
) -> Decision:
    if action not in PR_ACTIONS:
        return _ignore(f"pull_request.{action} needs no review")
    pr = payload["pull_request"]
    if pr.get("draft") and action != "ready_for_review" and not policy.review_drafts:
        return _ignore("draft pull request: reviewed when marked ready")
    if pr.get("state", "open") != "open":
        return _ignore("pull request is not open")
    ref = ContributionRef(
        Platform.GITHUB,
        repo,
        int(pr["number"]),
        head_sha=str(pr["head"]["sha"]),
        installation_id=installation_id,
    )
    return _queue(Submission(ref, Reason.REVIEW))


def _pull_state(action: str, pr: Mapping[str, Any]) -> tuple[str, datetime | None] | None:
    """The state a ``pull_request`` delivery moves the pull request to, and since when."""
    if action == "closed":
        merged = bool(pr.get("merged"))
        when = pr.get("merged_at") if merged else pr.get("closed_at")
        return ("merged" if merged else "closed"), _moment(when)
    if action == "reopened":
        return "open", _moment(pr.get("updated_at"))
    return None


def _moment(value: Any) -> datetime | None:
    """GitHub's ISO 8601 time (``2026-01-05T09:00:00Z``), or None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


ACCEPT_ARGUMENTS_MAX = 1000  # a rule, a path and a sentence; more is not a command


def _github_command(
    payload: Mapping[str, Any],
    repo: str,
    installation_id: int | None,
    reason: Reason,
    accept: str | None = None,
) -> Decision:
    """A command comment on an open pull request: a job for its commenter, who gets reactions."""
    issue, comment = payload["issue"], payload["comment"]
    if issue.get("state", "open") != "open":
        return _ignore("pull request is not open")
    ref = ContributionRef(
        Platform.GITHUB, repo, int(issue["number"]), None, Kind.PULL_REQUEST, installation_id
    )
    cid = comment.get("id")
    return _queue(
        Submission(
            ref,
            reason,
            str(comment["user"]["login"]),
            comment_id=cid if isinstance(cid, int) and not isinstance(cid, bool) else None,
            accept=accept,
        )
    )


def accept_arguments(body: str | None, command: str) -> str:
    """What follows the accept command on its line (the worker parses it)."""
    first = next((line.strip() for line in (body or "").splitlines() if line.strip()), "")
    return first[len(command) :].strip()[:ACCEPT_ARGUMENTS_MAX]


def _accept_button(
    payload: Mapping[str, Any], repo: str, installation_id: int | None, policy: RoutingPolicy
) -> Decision:
    """Our check run's Accept button: every non-critical finding at that run's head."""
    if (payload.get("requested_action") or {}).get("identifier") != ACTION_IDENTIFIER:
        return _ignore("not reviewbot's Accept action")
    run = payload["check_run"]
    app_id = (run.get("app") or {}).get("id")
    if policy.app_id is not None and app_id is not None and int(app_id) != policy.app_id:
        return _ignore("check_run of another app")
    numbers = [int(pr["number"]) for pr in run.get("pull_requests") or ()]
    if not numbers:
        linked = _linked_ref(str(run.get("external_id") or ""))
        if linked is None or linked.repo != repo:
            return _ignore("check_run is not linked to a pull request")
        numbers = [linked.number]
    arguments = AcceptCommand(EVERY_RULE, None, ACTION_REASON).text()
    return _queue(
        *(
            Submission(
                ContributionRef(
                    Platform.GITHUB, repo, n, str(run["head_sha"]), Kind.PULL_REQUEST,
                    installation_id,
                ),
                Reason.ACCEPT,
                str(payload["sender"]["login"]),
                accept=arguments,
            )
            for n in dict.fromkeys(numbers)
        )
    )  # fmt: skip


def _dashboard_edit(
    payload: Mapping[str, Any], repo: str, installation_id: int | None, policy: RoutingPolicy
) -> Decision:
    if payload.get("action") != "edited":
        return _ignore(f"issues.{payload.get('action')}")
    issue = payload["issue"]
    body = str(issue.get("body") or "")
    if issue.get("pull_request") or not body.startswith(DASHBOARD_MARKER):
        return _ignore("not the dashboard issue")
    # Only this App's issue: anyone can paste the marker and boxes into an issue of their own.
    app = issue.get("performed_via_github_app") or {}
    if not app or (policy.app_id is not None and app.get("id") != policy.app_id):
        return _ignore("a dashboard issue of another app")
    previous = ((payload.get("changes") or {}).get("body") or {}).get("from")
    if previous is None:
        return _ignore("the dashboard's body did not change")
    numbers = newly_ticked(body, str(previous))
    if not numbers:
        return _ignore("no recheck box newly ticked")
    editor = str(payload["sender"]["login"])
    return _queue(
        *(
            Submission(
                ContributionRef(
                    Platform.GITHUB, repo, number, None, Kind.PULL_REQUEST, installation_id
                ),
                Reason.RECHECK,
                editor,
            )
            for number in numbers
        )
    )


def _linked_ref(external_id: str) -> ContributionRef | None:
    """The GitHub contribution a check run of ours names in its ``external_id``."""
    try:
        ref = ContributionRef.parse(external_id)
    except ValueError:
        return None
    return ref if ref.platform is Platform.GITHUB else None
