"""`reviewbot triage --refresh`: open contributions listed from the fake GitHub and Hub."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from reviewbot.cli.main import _parser
from reviewbot.cli.triage import run_triage
from reviewbot.config import load_settings
from reviewbot.models import ContributionRef, Platform
from reviewbot.platforms.github import GitHubPlatform
from reviewbot.platforms.hub_listing import new_model_rows, open_pull_rows
from reviewbot.triage_refresh import platform_refresher
from tests.fakes import fake_hub
from tests.fakes.fake_github import FakeGitHub
from tests.fakes.fake_hub import FakeHub
from tests.fakes.history import MemoryHistory
from tests.service.conftest import CLEAN_CARD
from tests.test_triage import NOW, row

_NUMBERS = iter(range(1, 10_000))
TUNE_CARD = b"---\nlicense: apache-2.0\nbase_model: org/base\n---\n# A fine-tune\n"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[FakeHub]:
    yield from fake_hub.serve(tmp_path / "hub")


def github_repo(github: FakeGitHub) -> str:
    name = f"acme/refresh-{next(_NUMBERS)}"
    github.add_repo(name)
    for number, title, first in ((1, "Quantise", True), (2, "Card", False), (3, "Old", False)):
        github.open_pull(name, number, {"README.md": CLEAN_CARD})
        pull = github.repos[name].pulls[number]
        pull.title, pull.author, pull.first_time = title, f"dev{number}", first
    github.repos[name].pulls[3].state = "closed"
    github.repos[name].labels[2] = ["reviewbot: warn"]
    return name


def test_github_lists_open_pull_requests(github: FakeGitHub, gh: GitHubPlatform) -> None:
    repo = github_repo(github)
    ref = ContributionRef(Platform.GITHUB, repo, 0, installation_id=4242)
    rows = gh.open_contributions(ref, with_verdicts=False)
    assert [(r.number, r.title, r.author, r.first_time, r.verdict) for r in rows] == [
        (1, "Quantise", "dev1", True, None),
        (2, "Card", "dev2", False, None),
    ]
    assert rows[0].url.endswith(f"/{repo}/pull/1") and rows[0].state == "open"
    labelled = gh.open_contributions(ref, with_verdicts=True)
    assert [r.verdict for r in labelled] == [None, "warn"]


def test_the_hub_lists_open_pull_requests_and_new_fine_tunes(hub: FakeHub) -> None:
    from huggingface_hub import HfApi

    hub.add_repo("org/base", {"README.md": CLEAN_CARD})
    hub.add_repo("someone/tune", {"README.md": TUNE_CARD})
    hub.add_repo("other/unrelated", {"README.md": CLEAN_CARD})
    first = hub.open_pr("org/base", {"notes.txt": b"x\n"}, author="alice")
    closed = hub.open_pr("org/base", {"notes.txt": b"y\n"}, author="bob")
    hub.discussions["org/base"][closed]["status"] = "closed"
    hub._discussion("org/base", 9, "A question", "carol", is_pr=False)
    api = HfApi(endpoint=hub.endpoint, token=None)

    prs = open_pull_rows(api, "org/base", endpoint=hub.endpoint)
    assert [(r.ref, r.author, r.verdict) for r in prs] == [(f"hf:org/base#{first}", "alice", None)]
    assert prs[0].url == f"{hub.endpoint}/org/base/discussions/{first}"

    tunes = new_model_rows(api, "org/base", endpoint=hub.endpoint)
    assert [(r.ref, r.base_models) for r in tunes] == [("hf:someone/tune#0", ("org/base",))]


def triage_args(*argv: str) -> argparse.Namespace:
    return _parser().parse_args(["triage", *argv])


def test_refresh_adds_what_the_history_has_not_seen(
    github: FakeGitHub, hub: FakeHub, app_keys: tuple[str, str], tmp_path: Path
) -> None:
    repo = github_repo(github)
    hub.add_repo("org/base", {"README.md": CLEAN_CARD})
    hub.add_repo("someone/tune", {"README.md": TUNE_CARD})
    key = tmp_path / "app.pem"
    key.write_text(app_keys[0])
    settings = load_settings(
        github_app_id=123456,
        github_private_key_path=key,
        github_webhook_secret="s",
        github_api_url=github.base_url,
        hf_endpoint=hub.endpoint,
        reviewbot_watched_models=("org/base",),
    )
    warnings: list[str] = []
    refresher = platform_refresher(settings, warnings.append)
    # the history has reviewed #1 (failing); #2 it has never seen
    history = MemoryHistory([row(repo, 1, "fail", opened_days=1)], now=NOW)
    out = io.StringIO()
    argv = (
        "--refresh",
        "--format",
        "json",
        "--repo",
        f"github:{repo}",
        "hf:someone/tune",
        "hf:x/y",
    )
    assert run_triage(triage_args(*argv), history, refresher=refresher, out=out, now=NOW) == 0
    listed = [
        (c["repo"], c["number"], c["verdict"]) for c in json.loads(out.getvalue())["contributions"]
    ]
    assert listed[0] == (repo, 1, "fail")  # failing first, as the history has it
    assert sorted(listed[1:]) == sorted([(repo, 2, None), ("someone/tune", 0, None)])
    assert warnings and "hf:x/y: not listed" in warnings[0]  # no such model: named, not fatal
