"""The GitHub webhook receiver on a real uvicorn: what gets reviewed, what is refused, how fast."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reviewbot import dispatch
from reviewbot.config import Settings
from reviewbot.models import ContributionRef, Kind, Platform
from reviewbot.web import create_app
from tests.service.web_helpers import (
    GH_SECRET,
    HF_SECRET,
    Recorder,
    fixture,
    fixture_json,
    make_settings,
    metric,
    post_github,
    post_hf,
    request,
    serve,
    sign,
)

PR_SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
DELIVERIES = "reviewbot_webhook_deliveries_total"


class Server:
    def __init__(self, addr: str, recorder: Recorder) -> None:
        self.addr = addr
        self.recorder = recorder
        self._n = 0

    def post(self, event: str, body: bytes | dict[str, Any], **kw: Any) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        if "delivery" not in kw:
            self._n += 1
            kw["delivery"] = f"test-delivery-{time.monotonic_ns()}-{self._n}"
        return post_github(self.addr, event, raw, **kw)


def start(settings: Settings, recorder: Recorder) -> Iterator[Server]:
    dispatcher = dispatch.configure(runner=recorder, workers=2, max_pending=16)
    with serve(create_app(settings, dispatcher=dispatcher)) as addr:
        yield Server(addr, recorder)
    dispatcher.close()


@pytest.fixture
def server() -> Iterator[Server]:
    yield from start(make_settings(), Recorder())


def gh(shared: Path, name: str) -> dict[str, Any]:
    return fixture_json(shared, f"github/{name}")


def test_opened_pull_request_is_reviewed_at_its_head(server: Server, shared_dir: Path) -> None:
    before = metric(server.addr, DELIVERIES, event="pull_request", outcome="queued")
    answer = server.post("pull_request", fixture(shared_dir, "github/pull_request.opened.json"))
    assert answer.status == 202
    assert answer.body["outcome"] == "queued"
    assert answer.body["jobs"] == ["github:Codertocat/Hello-World#2"]
    (call,) = server.recorder.wait_for(1)
    assert call.ref == ContributionRef(
        Platform.GITHUB, "Codertocat/Hello-World", 2, PR_SHA, Kind.PULL_REQUEST, installation_id=1
    )
    assert (call.reason, call.requested_by) == ("review", None)
    assert call.thread.startswith("reviewbot-review")  # the embedded pool ran it
    after = metric(server.addr, DELIVERIES, event="pull_request", outcome="queued")
    assert after == before + 1


def test_the_same_delivery_twice_is_reviewed_once(server: Server, shared_dir: Path) -> None:
    body = fixture(shared_dir, "github/pull_request.opened.json")
    first = server.post("pull_request", body, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    again = server.post("pull_request", body, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert (first.status, first.body["outcome"]) == (202, "queued")
    assert (again.status, again.body["outcome"]) == (202, "duplicate")
    server.recorder.wait_for(1)
    assert len(server.recorder.settle()) == 1


@pytest.mark.parametrize("name", ["pull_request.synchronize.json", "pull_request.reopened.json"])
def test_pushes_and_reopens_are_reviewed(server: Server, shared_dir: Path, name: str) -> None:
    answer = server.post("pull_request", fixture(shared_dir, f"github/{name}"))
    assert answer.status == 202
    (call,) = server.recorder.wait_for(1)
    assert (call.ref.number, call.ref.head_sha, call.reason) == (2, PR_SHA, "review")


def test_drafts_wait_until_ready_for_review(server: Server, shared_dir: Path) -> None:
    draft = gh(shared_dir, "pull_request.opened.json")
    draft["pull_request"]["draft"] = True
    skipped = server.post("pull_request", draft)
    assert (skipped.status, skipped.body["outcome"]) == (202, "ignored")
    assert "draft" in skipped.body["detail"]

    ready = gh(shared_dir, "pull_request.opened.json")
    ready["action"] = "ready_for_review"
    assert server.post("pull_request", ready).body["outcome"] == "queued"
    (call,) = server.recorder.wait_for(1)
    assert call.ref.number == 2
    assert len(server.recorder.settle()) == 1


def test_drafts_are_reviewed_when_configured(shared_dir: Path) -> None:
    for server in start(make_settings(reviewbot_review_drafts=True), Recorder()):
        draft = gh(shared_dir, "pull_request.opened.json")
        draft["pull_request"]["draft"] = True
        assert server.post("pull_request", draft).body["outcome"] == "queued"
        server.recorder.wait_for(1)


@pytest.mark.parametrize(
    ("event", "name"),
    [
        ("pull_request", "pull_request.closed.json"),
        ("pull_request", "pull_request.edited.CONSTRUCTED.json"),
        ("push", "push.with-installation.json"),
        ("check_suite", "check_suite.requested.json"),
    ],
)
def test_other_events_are_ignored(server: Server, shared_dir: Path, event: str, name: str) -> None:
    answer = server.post(event, fixture(shared_dir, f"github/{name}"))
    assert (answer.status, answer.body["outcome"]) == (202, "ignored")
    assert server.recorder.settle() == []


BAD_SIGNATURES: dict[str, Callable[[bytes], dict[str, str]]] = {
    "missing": lambda body: {},
    "zeros": lambda body: {"X-Hub-Signature-256": "sha256=" + "0" * 64},
    "garbage": lambda body: {"X-Hub-Signature-256": "sha256=not-hex"},
    "no-prefix": lambda body: {"X-Hub-Signature-256": sign(body)[len("sha256=") :]},
    "sha1-only": lambda body: {"X-Hub-Signature": "sha1=" + "0" * 40},
    "wrong-secret": lambda body: {"X-Hub-Signature-256": sign(body, "wrong-secret")},
    "other-body": lambda body: {"X-Hub-Signature-256": sign(body + b" ")},
}


@pytest.mark.parametrize("bad", BAD_SIGNATURES)
def test_unsigned_or_badly_signed_deliveries_are_refused(
    server: Server, shared_dir: Path, bad: str
) -> None:
    body = fixture(shared_dir, "github/pull_request.opened.json")
    before = metric(server.addr, DELIVERIES, platform="github", outcome="unauthorized")
    headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "bad-sig"}
    answer = request(
        server.addr, "POST", "/webhooks/github", body, headers | BAD_SIGNATURES[bad](body)
    )
    assert answer.status == 401
    assert server.recorder.settle() == []
    after = metric(server.addr, DELIVERIES, platform="github", outcome="unauthorized")
    assert after == before + 1


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[1, 2]"])
def test_malformed_json_is_a_bad_request(server: Server, body: bytes) -> None:
    answer = server.post("pull_request", body)
    assert answer.status == 400
    assert server.recorder.settle(0.1) == []


def test_ping_is_answered(server: Server, shared_dir: Path) -> None:
    answer = server.post("ping", fixture(shared_dir, "github/ping.with-app_id.json"))
    assert (answer.status, answer.body["outcome"], answer.body["detail"]) == (200, "ping", "pong")


def test_an_oversized_declared_body_is_refused_before_it_is_sent(server: Server) -> None:
    host, port = server.addr.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /webhooks/github HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: big\r\n"
            + f"X-Hub-Signature-256: sha256={'0' * 64}\r\n".encode()
            + f"Content-Length: {25 * 1024 * 1024 + 1}\r\n\r\n".encode()
        )
        # Not one byte of the body is sent: the answer must come anyway.
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413")


def test_an_oversized_chunked_body_is_cut_off(server: Server) -> None:
    host, port = server.addr.split(":")
    chunk = b"x" * (1024 * 1024)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /webhooks/github HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n"
            b"X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: big-chunked\r\n\r\n"
        )
        try:
            for _ in range(26):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"x\r\n0\r\n\r\n")
        except OSError:
            pass  # the server may close once it has answered; its answer is still readable
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413")


def test_a_recheck_comment_on_a_pull_request_asks_for_a_recheck(
    server: Server, shared_dir: Path
) -> None:
    body = fixture(shared_dir, "github/issue_comment.created.on-pr.CONSTRUCTED.json")
    answer = server.post("issue_comment", body)
    assert (answer.status, answer.body["outcome"]) == (202, "queued")
    (call,) = server.recorder.wait_for(1)
    assert call.ref == ContributionRef(
        Platform.GITHUB, "Codertocat/Hello-World", 1, None, installation_id=1
    )
    # The permission check needs the GitHub API, so the worker makes it with this login.
    assert (call.reason, call.requested_by) == ("recheck", "Codertocat")
    assert call.comment_id == 492700400  # acknowledged on that comment by reactions


def test_the_command_may_carry_a_reason_below_it(server: Server, shared_dir: Path) -> None:
    payload = gh(shared_dir, "issue_comment.created.on-pr.CONSTRUCTED.json")
    payload["comment"]["body"] = "\n/ReviewBot Recheck  \nthe licence file changed"
    assert server.post("issue_comment", payload).body["outcome"] == "queued"
    server.recorder.wait_for(1)


@pytest.mark.parametrize(
    "user",
    [
        {"login": "octo-linter", "type": "Bot"},
        {"login": "some-app[bot]", "type": "User"},
        {"login": "ReviewBot-Self", "type": "User"},  # our own login, set in the settings
    ],
)
def test_comments_by_bots_are_ignored(shared_dir: Path, user: dict[str, str]) -> None:
    for server in start(make_settings(reviewbot_bot_login="reviewbot-self"), Recorder()):
        payload = gh(shared_dir, "issue_comment.created.on-pr.CONSTRUCTED.json")
        payload["comment"]["user"].update(user)
        payload["sender"].update(user)
        answer = server.post("issue_comment", payload)
        assert (answer.status, answer.body["outcome"]) == (202, "ignored")
        assert server.recorder.settle() == []


@pytest.mark.parametrize(
    "name",
    [
        "issue_comment.created.on-pr.all-contributors-app.json",  # on a PR, another command
        "issue_comment.created.with-installation.json",  # an issue, not a PR
        "issue_comment.edited.json",
    ],
)
def test_other_comments_are_ignored(server: Server, shared_dir: Path, name: str) -> None:
    answer = server.post("issue_comment", fixture(shared_dir, f"github/{name}"))
    assert (answer.status, answer.body["outcome"]) == (202, "ignored")
    assert server.recorder.settle() == []


def test_a_recheck_command_on_a_plain_issue_is_ignored(server: Server, shared_dir: Path) -> None:
    payload = gh(shared_dir, "issue_comment.created.with-installation.json")
    payload["comment"]["body"] = "/reviewbot recheck"
    assert server.post("issue_comment", payload).body["outcome"] == "ignored"
    assert server.recorder.settle() == []


def test_check_run_rerequested_rechecks_its_pull_requests(server: Server, shared_dir: Path) -> None:
    payload = gh(shared_dir, "check_run.rerequested.json")
    sha = payload["check_run"]["head_sha"]
    payload["check_run"]["pull_requests"] = [{"number": 5}, {"number": 5}]
    answer = server.post("check_run", payload)
    assert (answer.status, answer.body["outcome"]) == (202, "queued")
    (call,) = server.recorder.wait_for(1)
    assert (call.ref.repo, call.ref.number, call.ref.head_sha) == ("github/hello-world", 5, sha)
    assert (call.reason, call.requested_by) == ("recheck", None)
    assert len(server.recorder.settle()) == 1


def test_a_fork_check_run_is_found_by_its_external_id(server: Server, shared_dir: Path) -> None:
    payload = gh(shared_dir, "check_run.rerequested.json")
    sha = payload["check_run"]["head_sha"]
    assert payload["check_run"]["pull_requests"] == []  # as GitHub sends it for forks
    payload["check_run"]["external_id"] = f"github:github/hello-world#9@{sha}"
    assert server.post("check_run", payload).body["outcome"] == "queued"
    (call,) = server.recorder.wait_for(1)
    assert (call.ref.number, call.ref.head_sha, call.reason) == (9, sha, "recheck")


def test_unlinked_or_foreign_check_runs_are_ignored(server: Server, shared_dir: Path) -> None:
    unlinked = fixture(shared_dir, "github/check_run.rerequested.json")
    assert server.post("check_run", unlinked).body["outcome"] == "ignored"
    foreign = gh(shared_dir, "check_run.rerequested.json")
    foreign["check_run"]["pull_requests"] = [{"number": 5}]
    foreign["check_run"]["app"]["id"] = 999  # another App's check run
    assert server.post("check_run", foreign).body["outcome"] == "ignored"
    assert server.recorder.settle() == []


@pytest.mark.parametrize(
    ("event", "name"),
    [
        ("installation", "installation.created.json"),
        ("installation", "installation.deleted.json"),
        ("installation_repositories", "installation_repositories.added.json"),
    ],
)
def test_installation_events_are_logged(
    server: Server, shared_dir: Path, caplog: pytest.LogCaptureFixture, event: str, name: str
) -> None:
    caplog.set_level(logging.INFO, logger="reviewbot")
    answer = server.post(event, fixture(shared_dir, f"github/{name}"))
    assert (answer.status, answer.body["outcome"]) == (202, "logged")
    assert any(r.getMessage() == "installation event" for r in caplog.records)
    assert server.recorder.settle(0.1) == []


def test_the_answer_does_not_wait_for_the_review(shared_dir: Path) -> None:
    for server in start(make_settings(), Recorder(delay=2.0)):
        answer = server.post("pull_request", fixture(shared_dir, "github/pull_request.opened.json"))
        assert answer.status == 202
        assert answer.seconds < 0.5
        assert server.recorder.calls == []  # still reviewing
        server.recorder.wait_for(1, timeout=10)


def test_a_full_pool_answers_503_and_the_redelivery_then_gets_through(shared_dir: Path) -> None:
    gate = threading.Event()

    def blocked(ref: ContributionRef, *, reason: str, requested_by: str | None) -> None:
        gate.wait(10)

    dispatcher = dispatch.InProcessDispatcher(blocked, workers=1, max_pending=1)
    body = fixture(shared_dir, "github/pull_request.opened.json")
    with serve(create_app(make_settings(), dispatcher=dispatcher)) as addr:
        assert post_github(addr, "pull_request", body, delivery="a").status == 202
        refused = post_github(addr, "pull_request", body, delivery="b")
        assert (refused.status, refused.body["outcome"]) == (503, "unavailable")
        gate.set()
        deadline = time.monotonic() + 5
        while dispatcher.pending and time.monotonic() < deadline:
            time.sleep(0.01)
        redelivered = post_github(addr, "pull_request", body, delivery="b")
        assert (redelivered.status, redelivered.body["outcome"]) == (202, "queued")
    dispatcher.close()


def test_secrets_never_reach_logs_or_answers(
    server: Server, shared_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = fixture(shared_dir, "github/pull_request.opened.json")
    answers = [
        server.post("pull_request", body),
        server.post("pull_request", body, secret="wrong"),
        server.post("pull_request", b"{", secret=GH_SECRET),
        post_hf(
            server.addr,
            fixture(shared_dir, "huggingface/discussion.create.pull_request.CONSTRUCTED.json"),
        ),
        post_hf(server.addr, b"{}", secret=HF_SECRET[:-1]),
        request(server.addr, "GET", "/healthz"),
    ]
    server.recorder.wait_for(2)
    seen = caplog.text + json.dumps([a.body for a in answers])
    seen += request(server.addr, "GET", "/metrics").body.get("text", "")
    for secret in (GH_SECRET, HF_SECRET):
        assert secret not in seen


def test_a_secret_in_a_log_message_is_redacted(server: Server) -> None:
    import io

    from reviewbot.logs import JsonFormatter, bind

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("reviewbot.test")
    logger.addHandler(handler)
    try:
        with bind(delivery="abc-123"):
            logger.warning("oops %s", GH_SECRET)
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert GH_SECRET not in stream.getvalue()
    assert line["delivery"] == "abc-123"  # structured: the delivery id is bound


def test_a_platform_that_is_not_configured_is_not_found(shared_dir: Path) -> None:
    settings = make_settings(
        github_app_id=None, github_private_key=None, github_webhook_secret=None
    )
    for server in start(settings, Recorder()):
        body = fixture(shared_dir, "github/pull_request.opened.json")
        assert server.post("pull_request", body).status == 404


def test_metrics_are_served_in_prometheus_text(server: Server, shared_dir: Path) -> None:
    server.post("ping", fixture(shared_dir, "github/ping.json"))
    assert metric(server.addr, DELIVERIES, platform="github", event="ping", outcome="ping") >= 1
