"""The Hub webhook receiver on a real uvicorn: pull requests, re-checks, new fine-tunes, secrets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import WebhookPayload

from reviewbot import dispatch
from reviewbot.config import Settings
from reviewbot.models import ContributionRef, Kind, Platform
from reviewbot.web import create_app
from tests.service.web_helpers import (
    HF_SECRET,
    Recorder,
    fixture,
    fixture_json,
    make_settings,
    metric,
    post_hf,
    request,
    serve,
)

DELIVERIES = "reviewbot_webhook_deliveries_total"
NEW_REPO = "huggingface/repo.create.model-with-base_model.CONSTRUCTED.json"


class Hub:
    def __init__(self, addr: str, recorder: Recorder) -> None:
        self.addr = addr
        self.recorder = recorder

    def post(self, body: bytes | dict[str, Any], **kw: Any) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return post_hf(self.addr, raw, **kw)


def start(settings: Settings) -> Iterator[Hub]:
    recorder = Recorder()
    dispatcher = dispatch.configure(runner=recorder)
    with serve(create_app(settings, dispatcher=dispatcher)) as addr:
        yield Hub(addr, recorder)
    dispatcher.close()


@pytest.fixture
def hub() -> Iterator[Hub]:
    yield from start(make_settings())


def test_a_new_pull_request_is_reviewed(hub: Hub, shared_dir: Path) -> None:
    body = fixture(shared_dir, "huggingface/discussion.create.pull_request.CONSTRUCTED.json")
    before = metric(hub.addr, DELIVERIES, platform="hf", event="discussion.create")
    answer = hub.post(body)
    assert (answer.status, answer.body["outcome"]) == (202, "queued")
    (call,) = hub.recorder.wait_for(1)
    # No head sha in a discussion event: the worker reads refs/pr/7's head.
    assert call.ref == ContributionRef(Platform.HF, "acme/base-7b", 7, None, Kind.PULL_REQUEST)
    assert (call.reason, call.requested_by) == ("review", None)
    assert metric(hub.addr, DELIVERIES, platform="hf", event="discussion.create") == before + 1


def test_the_hub_docs_example_is_reviewed(hub: Hub, shared_dir: Path) -> None:
    body = fixture(shared_dir, "huggingface/discussion.create.pull_request.HUB-DOCS-EXAMPLE.json")
    assert hub.post(body).status == 202
    (call,) = hub.recorder.wait_for(1)
    assert (call.ref.repo, call.ref.number) == ("openai-community/gpt2", 19)


def test_a_push_to_a_pull_request_is_reviewed_at_the_new_sha(hub: Hub, shared_dir: Path) -> None:
    answer = hub.post(
        fixture(shared_dir, "huggingface/repo.content.update.refs-pr.CONSTRUCTED.json")
    )
    assert answer.body["outcome"] == "queued"
    (call,) = hub.recorder.wait_for(1)
    assert (call.ref.number, call.ref.head_sha) == (7, "575db8b7a51b6f85eb06eee540738584589f131c")


def test_a_recheck_comment_asks_for_a_recheck(hub: Hub, shared_dir: Path) -> None:
    body = fixture(shared_dir, "huggingface/discussion.comment.create.on-pr.CONSTRUCTED.json")
    assert hub.post(body).body["outcome"] == "queued"
    (call,) = hub.recorder.wait_for(1)
    assert (call.ref.repo, call.ref.number, call.reason) == ("acme/base-7b", 7, "recheck")
    assert call.requested_by == "65f0c0ffee0000000000b002"  # the Hub names users by id only


@pytest.mark.parametrize(
    "change",
    [{"content": "thanks!"}, {"hidden": True}],
    ids=["not-the-command", "hidden-comment"],
)
def test_other_comments_are_ignored(hub: Hub, shared_dir: Path, change: dict[str, Any]) -> None:
    payload = fixture_json(
        shared_dir, "huggingface/discussion.comment.create.on-pr.CONSTRUCTED.json"
    )
    payload["comment"].update(change)
    assert hub.post(payload).body["outcome"] == "ignored"
    assert hub.recorder.settle() == []


def test_a_new_fine_tune_of_a_watched_model_is_reviewed(hub: Hub, shared_dir: Path) -> None:
    body = fixture(shared_dir, NEW_REPO)
    # huggingface_hub maps repo.headSha to a field it never fills: we must read the raw JSON.
    assert WebhookPayload.model_validate_json(body).repo.head_sha is None
    assert hub.post(body).body["outcome"] == "queued"
    (call,) = hub.recorder.wait_for(1)
    assert call.ref == ContributionRef(
        Platform.HF,
        "contributor/base-7b-de-finetune",
        0,
        "9e8f1c2d3b4a5968778695a4b3c2d1e0f9e8d7c6",
        Kind.NEW_MODEL,
    )


def test_the_first_push_of_a_new_repository_is_a_candidate(hub: Hub, shared_dir: Path) -> None:
    body = fixture(shared_dir, "huggingface/repo.content.update.main-first-commit.CONSTRUCTED.json")
    assert hub.post(body).body["outcome"] == "queued"
    (call,) = hub.recorder.wait_for(1)
    # No tags here: the worker reads the card and drops it unless its base_model is watched.
    assert (call.ref.kind, call.ref.head_sha) == (
        Kind.NEW_MODEL,
        "9e8f1c2d3b4a5968778695a4b3c2d1e0f9e8d7c6",
    )


def test_a_push_after_the_hubs_initial_commit_is_a_candidate(hub: Hub, shared_dir: Path) -> None:
    """A repository starts with the Hub's own ``.gitattributes`` commit, so the upload of a
    fine-tune is a push whose oldSha is that commit, not null."""
    payload = json.loads(
        fixture(shared_dir, "huggingface/repo.content.update.main-first-commit.CONSTRUCTED.json")
    )
    payload["updatedRefs"][0]["oldSha"] = "1" * 40
    assert hub.post(json.dumps(payload).encode()).body["outcome"] == "queued"
    (call,) = hub.recorder.wait_for(1)
    assert (call.ref.kind, call.ref.head_sha) == (
        Kind.NEW_MODEL,
        payload["updatedRefs"][0]["newSha"],
    )


@pytest.mark.parametrize("watched", [(), ("someone/else",)], ids=["no-watch-list", "unwatched"])
def test_fine_tunes_of_unwatched_models_are_ignored(
    shared_dir: Path, watched: tuple[str, ...]
) -> None:
    for hub in start(make_settings(reviewbot_watched_models=watched)):
        assert hub.post(fixture(shared_dir, NEW_REPO)).body["outcome"] == "ignored"
        assert hub.recorder.settle() == []


def test_spaces_are_not_reviewed(hub: Hub, shared_dir: Path) -> None:
    body = fixture(shared_dir, "huggingface/repo.content.update.refs-pr.HF-HUB-TEST-PAYLOAD.json")
    answer = hub.post(body)
    assert (answer.status, answer.body["outcome"]) == (202, "ignored")
    assert hub.recorder.settle() == []


def test_a_replayed_delivery_is_reviewed_once(hub: Hub, shared_dir: Path) -> None:
    body = fixture(shared_dir, "huggingface/repo.content.update.refs-pr.CONSTRUCTED.json")
    assert hub.post(body).body["outcome"] == "queued"
    assert hub.post(body).body["outcome"] == "duplicate"
    hub.recorder.wait_for(1)
    assert len(hub.recorder.settle()) == 1


@pytest.mark.parametrize(
    ("secret", "status"),
    [(None, 401), ("", 403), ("wrong", 403), (HF_SECRET + "x", 403), (HF_SECRET.upper(), 403)],
)
def test_a_missing_or_wrong_secret_is_refused(
    hub: Hub, shared_dir: Path, secret: str | None, status: int
) -> None:
    body = fixture(shared_dir, "huggingface/discussion.create.pull_request.CONSTRUCTED.json")
    assert hub.post(body, secret=secret).status == status
    assert hub.recorder.settle() == []


def test_the_secret_is_not_taken_from_the_url(hub: Hub, shared_dir: Path) -> None:
    body = fixture(shared_dir, "huggingface/discussion.create.pull_request.CONSTRUCTED.json")
    answer = request(
        hub.addr, "POST", f"/webhooks/huggingface?secret={HF_SECRET}", body, {"X-Foo": "1"}
    )
    assert answer.status == 401
    assert hub.recorder.settle() == []


@pytest.mark.parametrize("body", [b"{broken", b'{"event": {"action": "create"}}', b"[]"])
def test_malformed_payloads_are_bad_requests(hub: Hub, body: bytes) -> None:
    assert hub.post(body).status == 400
    assert hub.recorder.settle(0.1) == []
