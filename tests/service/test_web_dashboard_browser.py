"""The dashboard in a real headless Chromium: sign in, filter, open a contribution, re-check.

Chromium comes from the system packages (``make provision``) and is driven by Playwright; no
browser is ever downloaded. With ``REVIEWBOT_SCREENSHOTS=DIR`` the test saves the list and a
contribution page there (``dashboard-list.png``, ``dashboard-contribution.png``), as the
screenshots in docs/ were made.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.fakes.fake_github import FakeGitHub
from tests.service.dashboard_helpers import T0, Site, meta, review, running_dashboard

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="no chromium binary on PATH (`make provision` installs it)"
    ),
]
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RULES = (
    "weights.pickle-global",
    "licence.conflict",
    "licence.missing",
    "evals.nan-weights",
    "weights.unknown-format",
)
LICENCE = {"check": "licence", "rule": "licence.missing", "severity": "medium",
           "path": "README.md", "message": "the model card declares no licence"}  # fmt: skip
PERPLEXITY = {"check": "evals", "rule": "evals.perplexity-regression", "severity": "medium",
              "path": "model.safetensors", "message": "perplexity is 38% above the base's",
              "perplexity": 13.12, "base_perplexity": 9.51, "tokens": 4096}  # fmt: skip
VERDICTS = ("pass", "pass", "warn", "fail", "pass", "error", "warn", "pass")


@pytest.fixture
def site(github: FakeGitHub, tmp_path: Path) -> Iterator[Site]:
    github.add_repo("acme/llm", permissions={"octocat": "maintain"})
    github.add_repo("acme/vision", permissions={"octocat": "write"}, private=True)
    with running_dashboard(
        github, tmp_path, reviewbot_hub_viewers={"acme/*": ["octocat"]}
    ) as running:
        seed(running)
        yield running


def seed(site: Site) -> None:
    """Eight weeks of reviews over two repositories and a Hub model, for charts worth a look."""
    repos = (("github", "acme/llm"), ("github", "acme/vision"), ("hf", "acme/chat-7b"))
    for n in range(1, 31):
        platform, repo = repos[n % 3]
        verdict = VERDICTS[n % len(VERDICTS)]
        rule = RULES[n % len(RULES)] if verdict in ("fail", "warn", "error") else None
        opened = T0 + timedelta(days=2 * n)
        at = opened + timedelta(hours=3)
        duration = (15, 45, 70, 200, 30, 500, 25, 90)[n % 8]
        head = hashlib.sha1(f"head {n}".encode(), usedforsecurity=False).hexdigest()
        record = review(verdict, head=head, at=at, rule=rule)
        record = type(record)(**{**record.__dict__, "started_at": at - timedelta(seconds=duration)})
        number = n if platform == "github" else n % 4 + 1
        if n == 3:  # the one the test opens: an earlier head with other findings
            site.history.record_review(
                meta(repo, number, days=2 * n, platform=platform),
                review(
                    "warn",
                    head=hashlib.sha1(b"earlier", usedforsecurity=False).hexdigest(),
                    at=at - timedelta(hours=2),
                    findings=[LICENCE, PERPLEXITY],
                ),
            )
            record = type(record)(**{**record.__dict__, "findings": [*record.findings, PERPLEXITY]})
        site.history.record_review(meta(repo, number, days=2 * n, platform=platform), record)


def test_a_maintainer_signs_in_filters_opens_and_rechecks(site: Site, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    shots = os.environ.get("REVIEWBOT_SCREENSHOTS")
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh profile every run
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 1000},
        )
        try:
            page = browser.new_page()
            page.goto(f"{site.url}/dashboard")  # to GitHub's sign-in and back
            assert page.url == f"{site.url}/dashboard"
            assert "signed in as octocat" in page.inner_text("header")
            assert page.locator("svg.chart").count() == 3
            if shots:
                page.screenshot(path=str(Path(shots) / "dashboard-list.png"), full_page=True)

            page.select_option("select[name=verdict]", "fail")
            page.click("button[type=submit]:has-text('Filter')")
            page.wait_for_url("**verdict=fail**")
            verdicts = page.locator("#contributions tbody .verdict").all_inner_texts()
            assert verdicts and {v.lower() for v in verdicts} == {"fail"}

            link = page.locator("#contributions tbody a").first
            ref = link.inner_text()
            link.click()
            page.wait_for_selector("#history")
            assert ref in page.inner_text("main")
            assert "FAIL" in page.inner_text("#verdict").upper()
            if shots:
                page.screenshot(
                    path=str(Path(shots) / "dashboard-contribution.png"), full_page=True
                )

            page.click("#recheck")
            page.wait_for_selector("#queued")
            [call] = site.jobs.wait_for(1)
            assert call.ref.display == ref and call.requested_by == "octocat"
        finally:
            browser.close()
