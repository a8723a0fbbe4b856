"""What the GitHub App asks for: exactly the permissions and events reviewbot uses, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Permission:
    name: str
    access: str  # "read" or "write"
    reason: str


@dataclass(frozen=True)
class Event:
    name: str
    reason: str


# Every entry is justified by a call in reviewbot/platforms/github.py or a route in
# reviewbot/events.py; the README's table is generated from these and a test keeps them equal.
PERMISSIONS: tuple[Permission, ...] = (
    Permission(
        "checks",
        "write",
        "create, update and find the `reviewbot` check run on the head commit",
    ),
    Permission(
        "contents",
        "read",
        "download changed files at the head commit, read the base branch's policy and model "
        "card, and fetch Git LFS objects",
    ),
    Permission(
        "issues",
        "write",
        "receive `issue_comment` events (the `/reviewbot recheck` command; GitHub sends them "
        "only to Apps that can read issues), and keep the opt-in dashboard issue "
        "(`[triage] dashboard-issue`)",
    ),
    Permission(
        "metadata",
        "read",
        "read the repository and a commenter's collaborator permission (mandatory for every App)",
    ),
    Permission(
        "pull_requests",
        "write",
        "read pull requests and their changed files, and post the verdict comment and label "
        "(GitHub lets pull-request write cover comments and labels on pull requests)",
    ),
)

EVENTS: tuple[Event, ...] = (
    Event(
        "check_run",
        "*Re-run* on reviewbot's check run re-checks the pull request; its *Accept* button "
        "accepts the non-critical findings",
    ),
    Event("check_suite", "*Re-run all* on the check suite re-checks the pull request"),
    Event(
        "issue_comment",
        "`/reviewbot recheck` on a pull request re-checks it; `/reviewbot accept` accepts a "
        "finding",
    ),
    Event("issues", "a recheck box ticked on the dashboard issue re-checks that pull request"),
    Event(
        "pull_request",
        "opened, pushed to (`synchronize`), reopened or marked ready for review: review it",
    ),
)

DESCRIPTION = (
    "Reviews contributions to open-model repositories: unsafe weight files, licences, quick evals."
)


def default_permissions() -> dict[str, str]:
    return {p.name: p.access for p in PERMISSIONS}


def default_events() -> list[str]:
    return [e.name for e in EVENTS]


def build_manifest(*, name: str, url: str, webhook_url: str, redirect_url: str) -> dict[str, Any]:
    """The manifest GitHub's ``settings/apps/new`` takes; GitHub generates every secret itself."""
    return {
        "name": name,
        "url": url,
        "description": DESCRIPTION,
        "hook_attributes": {"url": webhook_url, "active": True},
        "redirect_url": redirect_url,
        # Where GitHub sends a maintainer back after signing in to the dashboard.
        "callback_urls": [f"{url.rstrip('/')}/dashboard/oauth/callback"],
        "public": False,
        "default_permissions": default_permissions(),
        "default_events": default_events(),
    }


def markdown_table() -> str:
    """The permission and event table shown in README.md and docs/setup.md."""
    rows = ["| Permission or event | What reviewbot uses it for |", "|---|---|"]
    rows += [f"| `{p.name}`: {p.access} | {p.reason} |" for p in PERMISSIONS]
    rows += [f"| event `{e.name}` | {e.reason} |" for e in EVENTS]
    return "\n".join(rows) + "\n"
