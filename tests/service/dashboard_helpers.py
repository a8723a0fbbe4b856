"""The dashboard under test: a real server on loopback, the fake GitHub signing people in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from reviewbot import dispatch
from reviewbot.history.store import ContributionMeta, HistoryStore, ReviewRecord
from reviewbot.history.view import Worst
from reviewbot.web import create_app
from tests.fakes.fake_github import FakeGitHub
from tests.redis_server import free_port
from tests.service.web_helpers import Recorder, make_settings, serve

CLIENT_ID = "Iv1.dashboardtest01"
CLIENT_SECRET = "dashboard-client-secret-0123456789abcdef"
SESSION_SECRET = "dashboard-session-secret-0123456789abcdef"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday


@dataclass
class Site:
    """A running dashboard: its address, its history, and the jobs its Re-check queued."""

    url: str
    history: HistoryStore
    jobs: Recorder
    github: FakeGitHub
    sessions: list[requests.Session] = field(default_factory=list)

    def browser(self) -> requests.Session:
        """A fresh cookie jar: a person who has not signed in (closed when the site stops)."""
        session = requests.Session()
        self.sessions.append(session)
        return session

    def sign_in(self, login: str = "octocat") -> requests.Session:
        """A person signed in as ``login`` through the whole OAuth round trip."""
        self.github.web_user = login
        session = self.browser()
        answer = session.get(f"{self.url}/dashboard", timeout=10)
        assert answer.status_code == 200 and f"signed in as <strong>{login}" in answer.text
        return session


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page carries no CSRF field"
    return found[1]


def meta(
    repo: str, number: int, *, days: int, platform: str = "github", **extra: Any
) -> ContributionMeta:
    url = (
        f"https://github.com/{repo}/pull/{number}"
        if platform == "github"
        else f"https://huggingface.co/{repo}/discussions/{number}"
    )
    return ContributionMeta(
        platform=platform, repo=repo, number=number, kind="pull_request",
        opened_at=T0 + timedelta(days=days), title=f"PR {number} of {repo}",
        author="alice", url=url, **extra,
    )  # fmt: skip


def review(
    verdict: str,
    *,
    head: str,
    at: datetime,
    rule: str | None = None,
    findings: list[dict[str, Any]] | None = None,
    reason: str = "review",
) -> ReviewRecord:
    worst = Worst(rule, "high", "model.bin", f"{rule} found") if rule else None
    return ReviewRecord(
        head_sha=head, reason=reason, verdict=verdict, started_at=at - timedelta(seconds=40),
        finished_at=at, reviewbot_version="1.0", policy_fingerprint="f" * 64,
        counts={"high": 1} if rule else {}, worst=worst,
        findings=findings if findings is not None else (
            [worst.to_json() | {"check": "weights"}] if worst else []
        ),
        files=[{"path": "model.bin", "format": "pickle", "bytes_read": 10}], size_bytes=10,
    )  # fmt: skip


@contextmanager
def running_dashboard(github: FakeGitHub, tmp_path: Path, **overrides: Any) -> Iterator[Site]:
    """The web app with the dashboard on, signing in against ``github``, over a fresh history."""
    github.add_oauth_client(CLIENT_ID, CLIENT_SECRET)
    port = free_port()
    values: dict[str, Any] = {
        "github_api_url": github.base_url,
        "github_web_url": github.base_url,
        "github_client_id": CLIENT_ID,
        "github_client_secret": CLIENT_SECRET,
        "reviewbot_session_secret": SESSION_SECRET,
        "reviewbot_public_url": f"http://127.0.0.1:{port}",
    }
    settings = make_settings(**{**values, **overrides})
    history = HistoryStore(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    jobs = Recorder()
    dispatcher = dispatch.InProcessDispatcher(jobs, workers=1)
    app = create_app(settings, dispatcher=dispatcher, history=history)
    try:
        with serve(app, port) as addr:
            site = Site(f"http://{addr}", history, jobs, github)
            try:
                yield site
            finally:
                for session in site.sessions:
                    session.close()
    finally:
        dispatcher.close(wait=True)
        github.web_user = "octocat"
