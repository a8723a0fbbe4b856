"""The GitHub App manifest: exactly the events reviewbot routes, and docs generated from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reviewbot.events import RoutingPolicy, route_github
from reviewbot.setup import manifest
from tests.fakes.fake_github import APP_EVENTS

ROOT = Path(__file__).resolve().parents[2]
TABLE = re.compile(
    r"<!-- app-manifest-table:start[^>]*-->\n(?P<table>.*?)<!-- app-manifest-table:end -->", re.S
)


def handled(event: str) -> bool:
    payload = {
        "action": "no-such-action",
        "repository": {"full_name": "acme/model"},
        "sender": {"login": "someone", "type": "User"},
    }
    return not route_github(event, payload, RoutingPolicy()).note.endswith("are not handled")


def test_the_manifest_subscribes_to_exactly_the_events_reviewbot_routes() -> None:
    assert set(manifest.default_events()) == {e for e in APP_EVENTS if handled(e)}
    assert len(manifest.default_events()) == len(set(manifest.default_events()))


def test_the_manifest_asks_for_read_or_write_and_nothing_else() -> None:
    permissions = manifest.default_permissions()
    assert permissions == {
        "checks": "write",
        "contents": "read",
        "issues": "write",
        "metadata": "read",
        "pull_requests": "write",
    }
    assert all(p.reason and e.reason for p in manifest.PERMISSIONS for e in manifest.EVENTS)


def test_a_manifest_is_private_and_names_the_webhook_and_the_callbacks() -> None:
    built = manifest.build_manifest(
        name="reviewbot-acme",
        url="https://bot.example.org",
        webhook_url="https://bot.example.org/webhooks/github",
        redirect_url="http://127.0.0.1:8123/callback",
    )
    assert built == {
        "name": "reviewbot-acme",
        "url": "https://bot.example.org",
        "description": manifest.DESCRIPTION,
        "hook_attributes": {"url": "https://bot.example.org/webhooks/github", "active": True},
        "redirect_url": "http://127.0.0.1:8123/callback",
        "callback_urls": ["https://bot.example.org/dashboard/oauth/callback"],
        "public": False,
        "default_permissions": manifest.default_permissions(),
        "default_events": manifest.default_events(),
    }


@pytest.mark.parametrize("doc", ["README.md", "docs/setup.md"])
def test_the_documented_table_is_generated_from_the_manifest(doc: str) -> None:
    found = TABLE.search((ROOT / doc).read_text(encoding="utf-8"))
    assert found is not None, f"{doc} lacks the app-manifest-table markers"
    assert found["table"] == manifest.markdown_table(), (
        f"{doc} is out of date; paste this between its markers:\n{manifest.markdown_table()}"
    )
