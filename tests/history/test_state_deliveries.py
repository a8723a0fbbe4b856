"""Closed, merged and reopened deliveries through the real receiver change the history's state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reviewbot import composition, dispatch
from reviewbot.history.store import ContributionMeta, HistoryStore
from reviewbot.web import create_app
from tests.service.web_helpers import Recorder, fixture_json, make_settings, post_github, post_hf
from tests.service.web_helpers import serve as serve_app

REPO, NUMBER = "Codertocat/Hello-World", 2  # the recorded GitHub deliveries' pull request
HUB_REPO = "acme/model"
HUB_CREATE = "discussion.create.pull_request.CONSTRUCTED.json"
OPENED = datetime(2019, 5, 15, 15, 0, tzinfo=UTC)


@pytest.fixture
def served(database_url: str) -> Iterator[tuple[str, Recorder]]:
    """The receiver with the history on, in ``database_url``, as the settings wire it."""
    settings = make_settings(reviewbot_history=True, reviewbot_database_url=database_url)
    runner = Recorder()
    dispatcher = dispatch.configure(runner=runner, workers=1, max_pending=8)
    with serve_app(create_app(settings, dispatcher=dispatcher)) as addr:
        yield addr, runner
    dispatcher.close()


def flush(database_url: str) -> None:
    settings = make_settings(reviewbot_history=True, reviewbot_database_url=database_url)
    assert composition.history_recorder(settings).flush(30)


def known(store: HistoryStore, platform: str, repo: str, number: int) -> None:
    store.record_contribution(ContributionMeta(platform, repo, number, "pull_request", OPENED))


def post(addr: str, event: str, payload: dict[str, Any], delivery: str) -> dict[str, Any]:
    answer = post_github(addr, event, json.dumps(payload).encode(), delivery=delivery)
    assert answer.status == 202, answer.body
    return answer.body


def test_closed_reopened_and_merged_pull_requests_change_the_state(
    served: tuple[str, Recorder], database_url: str, shared_dir: Path
) -> None:
    addr, runner = served
    store = HistoryStore(database_url)
    known(store, "github", REPO, NUMBER)
    closed = fixture_json(shared_dir, "github/pull_request.closed.json")
    assert post(addr, "pull_request", closed, "d-closed")["outcome"] == "ignored"
    reopened = fixture_json(shared_dir, "github/pull_request.reopened.json")
    reopened["pull_request"]["updated_at"] = "2019-05-15T16:00:00Z"  # after the close above
    assert post(addr, "pull_request", reopened, "d-reopened")["outcome"] == "queued"
    merged = fixture_json(shared_dir, "github/pull_request.closed.json")
    merged["pull_request"].update(merged=True, merged_at="2019-05-16T10:00:00Z")
    post(addr, "pull_request", merged, "d-merged")
    post(addr, "pull_request", merged, "d-merged")  # redelivered: a duplicate, nothing added
    flush(database_url)
    states = store.states_of("github", REPO, NUMBER)
    assert [s for s, _ in states] == ["open", "closed", "open", "merged"]
    assert states[-1][1] == datetime(2019, 5, 16, 10, 0, tzinfo=UTC)  # GitHub's time, kept
    assert [c.reason for c in runner.wait_for(1)] == ["review"]  # reopened is reviewed too


def test_a_pull_request_never_reviewed_adds_no_row(
    served: tuple[str, Recorder], database_url: str, shared_dir: Path
) -> None:
    addr, _ = served
    post(addr, "pull_request", fixture_json(shared_dir, "github/pull_request.closed.json"), "x")
    flush(database_url)
    assert HistoryStore(database_url).states_of("github", REPO, NUMBER) == []


def hub_update(shared_dir: Path, number: int, status: str) -> bytes:
    payload = fixture_json(shared_dir, f"huggingface/{HUB_CREATE}")
    payload["event"]["action"] = "update"
    payload["repo"]["name"] = HUB_REPO
    payload["discussion"].update(num=number, status=status)
    return json.dumps(payload).encode()


def test_hub_discussion_status_changes_change_the_state(
    served: tuple[str, Recorder], database_url: str, shared_dir: Path
) -> None:
    addr, runner = served
    store = HistoryStore(database_url)
    known(store, "hf", HUB_REPO, 4)
    for status in ("closed", "open", "merged"):
        answer = post_hf(addr, hub_update(shared_dir, 4, status))
        assert answer.status == 202, answer.body
    flush(database_url)
    states = [s for s, _ in store.states_of("hf", HUB_REPO, 4)]
    assert states == ["open", "closed", "open", "merged"]
    assert runner.settle(0.2) == []  # a status change is not a review
