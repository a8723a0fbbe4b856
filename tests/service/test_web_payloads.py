"""Signed but hostile bodies: each is one 400 with a one-line reason, nothing queued, no trace."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reviewbot import dispatch
from reviewbot.web import create_app
from tests.service.web_helpers import (
    Recorder,
    fixture_json,
    make_settings,
    post_github,
    post_hf,
    serve,
)


@pytest.fixture
def server() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    dispatcher = dispatch.configure(runner=recorder, workers=1, max_pending=8)
    with serve(create_app(make_settings(), dispatcher=dispatcher)) as addr:
        yield addr, recorder
    dispatcher.close()


DEEP = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
HOSTILE = {
    "100k-deep nesting": (DEEP, "nested too deeply"),
    "100k-deep arrays": (b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    "5,000-digit integer": (b'{"action": "opened", "n": ' + b"7" * 5000 + b"}", "number too long"),
    "invalid UTF-8": (b'{"action": "opened", "title": "\xff\xfe"}', "not UTF-8"),
    "top-level array": (b"[1, 2]", "not a JSON object"),
    "top-level string": (b'"hello"', "not a JSON object"),
    "truncated": (b'{"action": "op', "not JSON"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_pathological_signed_json_is_a_one_line_400(
    server: tuple[str, Recorder], name: str, caplog: pytest.LogCaptureFixture
) -> None:
    addr, recorder = server
    body, reason = HOSTILE[name]
    caplog.set_level(logging.INFO)
    answer = post_github(addr, "pull_request", body, delivery=f"hostile-{len(body)}")
    assert answer.status == 400, answer.body
    detail = answer.body["detail"]
    assert reason in detail and "\n" not in detail and len(detail) < 120
    assert recorder.settle(0.1) == []
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def pull_request(shared: Path, **repository: Any) -> dict[str, Any]:
    payload = fixture_json(shared, "github/pull_request.opened.json")
    payload["repository"].update(repository)
    return payload


@pytest.mark.parametrize(
    "full_name",
    [
        "../../etc/passwd",
        "acme/models; rm -rf /",
        "acme/..",
        "-acme/models",
        "a" * 101 + "/models",
        "_acme/models",
        "acme/" + "m" * 101,
        "acme/mo dels",
        "acme",
        "acme/models/extra",
        "acme/mødels",
    ],
)
def test_a_malformed_repository_name_is_refused_and_nothing_queued(
    server: tuple[str, Recorder], shared_dir: Path, full_name: str
) -> None:
    addr, recorder = server
    body = json.dumps(pull_request(shared_dir, full_name=full_name)).encode()
    answer = post_github(addr, "pull_request", body, delivery=f"bad-name-{abs(hash(full_name))}")
    assert (answer.status, answer.body["outcome"]) == (400, "bad_request")
    assert "repository" in answer.body["detail"]
    assert recorder.settle(0.1) == []


def test_valid_names_of_every_shape_are_queued(
    server: tuple[str, Recorder], shared_dir: Path
) -> None:
    addr, recorder = server
    names = ["a/b", "Org-1/repo.name_2", "x" * 39 + "/" + "y" * 100, "acme/.github", "mona_emu/r"]
    for i, name in enumerate(names):
        body = json.dumps(pull_request(shared_dir, full_name=name)).encode()
        assert post_github(addr, "pull_request", body, delivery=f"ok-{i}").status == 202
    assert sorted(c.ref.repo for c in recorder.wait_for(len(names))) == sorted(names)


@pytest.mark.parametrize(
    "change",
    [
        {"pull_request": []},  # an array where an object belongs
        {"pull_request": {"number": 1e999, "head": {"sha": "a" * 40}}},  # infinity
        {"pull_request": {"number": 2, "head": {"sha": "not-a-sha"}}},
        {"pull_request": {"number": 2**40, "head": {"sha": "a" * 40}}},
    ],
)
def test_a_payload_of_the_wrong_shape_is_refused(
    server: tuple[str, Recorder], shared_dir: Path, change: dict[str, Any]
) -> None:
    addr, recorder = server
    payload = fixture_json(shared_dir, "github/pull_request.opened.json") | change
    body = json.dumps(payload).encode()
    answer = post_github(addr, "pull_request", body, delivery=f"shape-{abs(hash(body))}")
    assert answer.status == 400, answer.body
    assert recorder.settle(0.1) == []


@pytest.mark.parametrize("name", ["acme/bad--name", "acme/na me", "../acme", "acme/x.", "a/b/c"])
def test_a_malformed_hub_repository_is_refused(
    server: tuple[str, Recorder], shared_dir: Path, name: str
) -> None:
    addr, recorder = server
    payload = fixture_json(
        shared_dir, "huggingface/discussion.create.pull_request.CONSTRUCTED.json"
    )
    payload["repo"]["name"] = name
    answer = post_hf(addr, json.dumps(payload).encode())
    assert (answer.status, answer.body["outcome"]) == (400, "bad_request")
    assert recorder.settle(0.1) == []


def test_pathological_hub_json_is_a_400(server: tuple[str, Recorder]) -> None:
    addr, recorder = server
    answer = post_hf(addr, DEEP)
    assert answer.status == 400
    assert "nested too deeply" in answer.body["detail"]
    assert recorder.settle(0.1) == []
