"""Accept commands and the check run's Accept button through the real receiver: what is queued."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reviewbot.models import Platform
from reviewbot.waivers import ACTION_IDENTIFIER, ACTION_REASON, EVERY_RULE
from tests.service.test_web_github import Server, gh, start
from tests.service.web_helpers import Recorder, fixture_json, make_settings, post_hf

APP_ID = 2  # make_settings' App


@pytest.fixture
def server() -> Iterator[Server]:
    yield from start(make_settings(), Recorder())


def comment(shared: Path, body: str) -> dict[str, Any]:
    payload = gh(shared, "issue_comment.created.on-pr.CONSTRUCTED.json")
    payload["comment"]["body"] = body
    return payload


def test_an_accept_comment_queues_an_accept_with_its_arguments(
    server: Server, shared_dir: Path
) -> None:
    body = "/reviewbot accept unknown-import training_args.bin -- vetted\nsee the thread"
    answer = server.post("issue_comment", comment(shared_dir, body))

    assert (answer.status, answer.body["outcome"]) == (202, "queued")
    (call,) = server.recorder.wait_for(1)
    assert (call.reason, call.requested_by) == ("accept", "Codertocat")
    assert call.accept == "unknown-import training_args.bin -- vetted"
    assert call.comment_id == 492700400  # acknowledged there by reactions, never a reply


def test_a_malformed_accept_still_reaches_the_worker_to_be_acknowledged(
    server: Server, shared_dir: Path
) -> None:
    server.post("issue_comment", comment(shared_dir, "/reviewbot accept"))
    (call,) = server.recorder.wait_for(1)
    assert (call.reason, call.accept) == ("accept", "")


def requested_action(shared: Path) -> dict[str, Any]:
    """GitHub's real ``check_run.requested_action`` delivery (another App's button)."""
    return fixture_json(shared, "github/check_run.requested_action.json")


def test_our_accept_button_queues_an_accept_of_every_non_critical_finding_at_that_head(
    server: Server, shared_dir: Path
) -> None:
    payload = requested_action(shared_dir)
    payload["requested_action"]["identifier"] = ACTION_IDENTIFIER
    payload["check_run"]["app"]["id"] = APP_ID
    sha = payload["check_run"]["head_sha"]

    assert server.post("check_run", payload).body["outcome"] == "queued"
    (call,) = server.recorder.wait_for(1)
    assert (call.ref.repo, call.ref.number, call.ref.head_sha) == ("electron/electron", 26764, sha)
    assert (call.reason, call.requested_by) == ("accept", "codebytere")
    assert call.accept == f"{EVERY_RULE} -- {ACTION_REASON}"


def test_other_buttons_and_other_apps_buttons_are_ignored(server: Server, shared_dir: Path) -> None:
    assert server.post("check_run", requested_action(shared_dir)).body["outcome"] == "ignored"
    foreign = requested_action(shared_dir)
    foreign["requested_action"]["identifier"] = ACTION_IDENTIFIER  # same id, another App's run
    assert server.post("check_run", foreign).body["outcome"] == "ignored"
    assert server.recorder.settle() == []


def test_a_hub_accept_comment_queues_an_accept_named_by_the_author_id(
    server: Server, shared_dir: Path
) -> None:
    payload = fixture_json(
        shared_dir, "huggingface/discussion.comment.create.on-pr.CONSTRUCTED.json"
    )
    payload["comment"]["content"] = "/reviewbot accept unknown-import -- vetted"
    author = payload["comment"]["author"]["id"]

    answer = post_hf(server.addr, json.dumps(payload).encode())

    assert answer.body["outcome"] == "queued"
    (call,) = server.recorder.wait_for(1)
    assert (call.ref.platform, call.reason, call.requested_by) == (Platform.HF, "accept", author)
    assert call.accept == "unknown-import -- vetted"
