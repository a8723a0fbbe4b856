"""Reviews through the service against the fake GitHub and the fake Hub leave their history."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from reviewbot import __version__
from reviewbot.composition import ReviewInputs
from reviewbot.history.engine import safe_url
from reviewbot.history.recorder import HistoryRecorder
from reviewbot.history.store import HistoryStore
from reviewbot.history.view import TriageQuery
from reviewbot.models import ContributionRef, Platform
from reviewbot.platforms.github import GitHubPlatform
from reviewbot.platforms.hub import HubPlatform
from reviewbot.service import post_error, review_contribution
from tests.fakes import fake_hub
from tests.fakes.fake_github import FakeGitHub
from tests.fakes.fake_hub import FakeHub
from tests.history.test_recorder import PASSWORD, closed_port_url
from tests.service.conftest import CLEAN_CARD, app_keys, gh, github, hostile_checkpoint

__all__ = ["app_keys", "gh", "github"]  # the fake GitHub's fixtures, shared with tests/service

ROOT = Path(__file__).resolve().parents[2]
_NUMBERS = iter(range(1, 10_000))
HUB_CARD = b"""---
license: mit
base_model: acme/base-7b
---

# A fine-tune
"""


@pytest.fixture
def recorder(database_url: str) -> Iterator[HistoryRecorder]:
    store = HistoryStore(database_url)
    recorder = HistoryRecorder(lambda: store, where=safe_url(database_url))
    yield recorder
    recorder.close()


def inputs(platform: object, recorder: HistoryRecorder) -> ReviewInputs:
    return replace(ReviewInputs.of(None, platform), recorder=recorder)  # type: ignore[arg-type]


def open_pull(github: FakeGitHub, files: dict[str, bytes], **pull: object) -> tuple[str, str]:
    repo = f"acme/history-{next(_NUMBERS)}"
    github.add_repo(repo, files={"README.md": CLEAN_CARD})
    head = github.open_pull(repo, 1, files)
    for name, value in pull.items():
        setattr(github.repos[repo].pulls[1], name, value)
    return repo, head


def triage_json(database_url: str) -> list[dict[str, object]]:
    env = {**os.environ, "REVIEWBOT_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "reviewbot", "triage", "--format", "json", "--state", "all"],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    rows: list[dict[str, object]] = json.loads(run.stdout)["contributions"]
    return rows


def test_a_github_review_keeps_the_contribution_and_every_head(
    github: FakeGitHub, gh: GitHubPlatform, recorder: HistoryRecorder, database_url: str
) -> None:
    repo, head = open_pull(
        github,
        {"model/checkpoint.pt": hostile_checkpoint()},
        title="Add a checkpoint",
        author="newcomer",
        first_time=True,
    )
    ref = ContributionRef(Platform.GITHUB, repo, 1, head_sha=head, installation_id=4242)
    first = review_contribution(ref, platform=gh, inputs=inputs(gh, recorder))
    assert first.status == "posted" and first.verdict == "fail"
    assert recorder.flush(30)

    store = HistoryStore(database_url)
    [row] = store.contributions(TriageQuery(repos=(f"github:{repo}",)))
    assert (row.title, row.author, row.first_time, row.state) == (
        "Add a checkpoint", "newcomer", True, "open",
    )  # fmt: skip
    assert row.url.endswith(f"/{repo}/pull/1") and row.opened_at.tzinfo is not None
    assert row.licence == "apache-2.0"  # from the card the review read at the head
    [stored] = store.reviews_of("github", repo, 1)
    assert (stored.head_sha, stored.reason, stored.verdict) == (head, "review", "fail")
    assert stored.counts["critical"] >= 1 and stored.worst is not None
    assert stored.worst.severity == "critical" and stored.worst.path == "model/checkpoint.pt"
    assert any(f["rule"] == stored.worst.rule for f in stored.findings)
    [checkpoint] = [f for f in stored.files if f["path"] == "model/checkpoint.pt"]
    assert checkpoint["format"] != "unknown" and checkpoint["bytes_read"] > 0
    assert stored.reviewbot_version == __version__ and len(stored.policy_fingerprint) == 16
    assert stored.finished_at >= stored.started_at

    # a push: a second review, the first kept
    newer = github.push(repo, 1, {"model/checkpoint.pt": b"now just text\n"})
    again = review_contribution(
        replace(ref, head_sha=None), reason="recheck", platform=gh, inputs=inputs(gh, recorder)
    )
    assert again.status == "posted" and again.head_sha == newer
    assert recorder.flush(30)
    reviews = store.reviews_of("github", repo, 1)
    assert [(r.head_sha, r.reason) for r in reviews] == [(newer, "recheck"), (head, "review")]

    [shown] = [r for r in triage_json(database_url) if r["repo"] == repo]
    assert shown["head_sha"] == newer and shown["verdict"] == again.verdict
    assert shown["title"] == "Add a checkpoint" and shown["first_time"] is True


@pytest.mark.parametrize(
    ("association", "first_time"),
    [("FIRST_TIMER", True), ("NONE", True), ("CONTRIBUTOR", False), ("MEMBER", False)],
)
def test_first_time_follows_githubs_author_association(
    github: FakeGitHub,
    gh: GitHubPlatform,
    tmp_path: Path,
    association: str,
    first_time: bool,
) -> None:
    url = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    recorder = HistoryRecorder(lambda: HistoryStore(url))
    repo, head = open_pull(github, {"notes.txt": b"hi\n"}, author="dev", association=association)
    ref = ContributionRef(Platform.GITHUB, repo, 1, head_sha=head, installation_id=4242)
    review_contribution(ref, platform=gh, inputs=inputs(gh, recorder))
    recorder.close()
    [row] = HistoryStore(url).contributions(TriageQuery())
    assert row.first_time is first_time


def test_a_database_that_is_down_still_gets_the_verdict_out(
    github: FakeGitHub, gh: GitHubPlatform, caplog: pytest.LogCaptureFixture
) -> None:
    url = closed_port_url()
    recorder = HistoryRecorder(
        lambda: HistoryStore(url), where=safe_url(url), attempts=3, first_wait=0.01
    )
    repo, head = open_pull(github, {"notes.txt": b"hello\n"})
    ref = ContributionRef(Platform.GITHUB, repo, 1, head_sha=head, installation_id=4242)
    with caplog.at_level(logging.WARNING, logger="reviewbot.history.recorder"):
        outcome = review_contribution(ref, platform=gh, inputs=inputs(gh, recorder))
        assert outcome.status == "posted"
        [comment] = github.comments(repo, 1)
        assert head[:12] in comment["body"]
        assert [r["status"] for r in github.repos[repo].check_runs] == ["completed"]
        assert recorder.flush(60)
    assert "history write failed" in caplog.text and "given up after 3 attempts" in caplog.text
    assert PASSWORD not in caplog.text


def test_dry_runs_and_error_verdicts_are_recorded_too(
    github: FakeGitHub, gh: GitHubPlatform, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    recorder = HistoryRecorder(lambda: HistoryStore(url))
    repo, head = open_pull(github, {"notes.txt": b"hello\n"})
    ref = ContributionRef(Platform.GITHUB, repo, 1, head_sha=head, installation_id=4242)
    dry = replace(inputs(gh, recorder), dry_run=True)
    dry_run = review_contribution(ref, platform=gh, inputs=dry)
    assert dry_run.status == "posted" and dry_run.verdict is not None
    assert github.comments(repo, 1) == []  # a dry run posts nothing, but is remembered
    timed_out = post_error(ref, "the review timed out", platform=gh, inputs=inputs(gh, recorder))
    assert timed_out.status == "error"
    recorder.close()
    verdicts = [r.verdict for r in HistoryStore(url).reviews_of("github", repo, 1)]
    assert verdicts == ["error", dry_run.verdict]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[FakeHub]:
    yield from fake_hub.serve(tmp_path / "hub")


def test_a_hub_review_keeps_the_discussion_card_and_hub_scan(
    hub: FakeHub, recorder: HistoryRecorder, database_url: str
) -> None:
    platform = HubPlatform(endpoint=hub.endpoint, token="hf_test_token_0000")
    hub.add_repo("org/model", {"README.md": HUB_CARD})
    number = hub.open_pr("org/model", {"notes.txt": b"hello\n"}, author="hubdev")
    ref = ContributionRef(Platform.HF, "org/model", number)
    outcome = review_contribution(ref, platform=platform, inputs=inputs(platform, recorder))
    assert outcome.status == "posted"
    assert recorder.flush(30)
    store = HistoryStore(database_url)
    [row] = store.contributions(TriageQuery(repos=("hf:org/model",)))
    assert (row.title, row.author, row.state) == (f"PR {number}", "hubdev", "open")
    assert row.base_models == ["acme/base-7b"] and row.licence == "mit"
    assert row.url == f"{hub.endpoint}/org/model/discussions/{number}"
    [stored] = store.reviews_of("hf", "org/model", number)
    assert stored.head_sha == outcome.head_sha and stored.hub_scan
    assert "notes.txt" in stored.hub_scan
