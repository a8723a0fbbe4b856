"""`/reviewbot fix` on the Hub: the review's text fixes committed to refs/pr/N, by real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from huggingface_hub import WebhookPayload

from checks.base import Contribution
from checks.licence.check import LicenceCheck
from checks.policy import Policy
from reviewbot.composition import ReviewInputs
from reviewbot.errors import TransientError
from reviewbot.events import Reason, RoutingPolicy
from reviewbot.hub_events import route_huggingface
from reviewbot.models import ContributionRef, Platform
from reviewbot.platforms.hub import HubPlatform
from reviewbot.service import review_contribution
from tests.fakes import fake_hub
from tests.fakes.fake_hub import FakeHub, user_id

CARD = "---\nlicense: other\nlibrary_name: transformers\n---\n# Tiny Tune\n\nA model.\n"
TERMS = "The Tiny Terms\n\nUse it kindly and say where it came from.\n"
SCRIPT = "#!/usr/bin/env python\nprint('hi')\n"
FIXED_RULES = {"licence-header-missing", "card-licence-invalid"}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[FakeHub]:
    yield from fake_hub.serve(tmp_path / "hub")


@pytest.fixture
def platform(hub: FakeHub) -> HubPlatform:
    return HubPlatform(endpoint=hub.endpoint, token="hf_test_token_0000")


def pull(hub: FakeHub) -> tuple[ContributionRef, dict[str, str]]:
    hub.add_repo("alice/model", {"LICENSE": TERMS})
    hub.add_user("alice")  # the owner, whom the Hub's overview names by the id webhooks carry
    files = {"README.md": CARD, "run.py": SCRIPT}
    number = hub.open_pr("alice/model", {k: v.encode() for k, v in files.items()}, author="bob")
    return ContributionRef(Platform.HF, "alice/model", number), files


def licence_rules(root: Path, files: dict[str, bytes]) -> set[str]:
    root.mkdir(parents=True)
    for path, data in files.items():
        (root / path).write_bytes(data)
    result = LicenceCheck().run(Contribution(root=root, files=sorted(files), policy=Policy()))
    return {f.rule for f in result.findings}


def test_the_verdict_shows_the_text_and_the_author_s_fix_commits_it(
    hub: FakeHub, platform: HubPlatform, tmp_path: Path
) -> None:
    ref, _ = pull(hub)
    assert review_contribution(ref, platform=platform).status == "posted"
    [verdict] = hub.comments(ref.repo, ref.number)
    body = verdict["data"]["latest"]["raw"]
    assert "/reviewbot fix" in body and "license_link: LICENSE" in body
    hub.add_comment(ref.repo, ref.number, "/reviewbot fix", author="bob")

    outcome = review_contribution(ref, reason="fix", requested_by=user_id("bob"), platform=platform)

    assert outcome.status == "posted", outcome
    [commit] = hub.commits
    assert commit["revision"] == f"refs/pr/{ref.number}"
    assert commit["files"] == ["README.md", "run.py"]
    snapshot = hub.snapshot(ref.repo, f"refs/pr/{ref.number}")
    fixed = {path: snapshot[path].read() for path in ("README.md", "run.py", "LICENSE")}
    assert fixed["run.py"].startswith(b"#!/usr/bin/env python\n# SPDX-License-Identifier: ")
    assert not FIXED_RULES & licence_rules(tmp_path / "after", fixed)

    again = review_contribution(ref, reason="fix", requested_by=user_id("bob"), platform=platform)
    assert again.status == "unchanged" and len(hub.commits) == 1  # a retry commits nothing


def test_a_commit_that_landed_but_answered_502_is_not_made_again(
    hub: FakeHub, platform: HubPlatform
) -> None:
    ref, _ = pull(hub)
    hub.add_comment(ref.repo, ref.number, "/reviewbot fix", author="bob")
    hub.commits_answered_502 = 1

    with pytest.raises(TransientError):  # the task retries it
        review_contribution(ref, reason="fix", requested_by=user_id("bob"), platform=platform)
    retried = review_contribution(ref, reason="fix", requested_by=user_id("bob"), platform=platform)

    assert retried.status == "unchanged" and len(hub.commits) == 1


def test_the_owner_may_ask_an_outsider_may_not(hub: FakeHub, platform: HubPlatform) -> None:
    ref, _ = pull(hub)
    hub.add_comment(ref.repo, ref.number, "/reviewbot fix", author="mallory")
    refused = review_contribution(
        ref, reason="fix", requested_by=user_id("mallory"), platform=platform
    )
    assert refused.status == "refused" and hub.commits == []

    hub.add_comment(ref.repo, ref.number, "/reviewbot fix", author="alice")
    done = review_contribution(ref, reason="fix", requested_by=user_id("alice"), platform=platform)
    assert done.status == "posted" and len(hub.commits) == 1


def test_a_dry_run_commits_nothing(hub: FakeHub, platform: HubPlatform) -> None:
    ref, _ = pull(hub)
    hub.add_comment(ref.repo, ref.number, "/reviewbot fix", author="bob")
    inputs = replace(ReviewInputs.of(None, platform), dry_run=True)
    outcome = review_contribution(
        ref, reason="fix", requested_by=user_id("bob"), platform=platform, inputs=inputs
    )
    assert outcome.would and "commit text fixes to 2 files" in outcome.would[0]
    assert hub.commits == []


def test_the_command_routes_to_a_fix_job() -> None:
    raw = {
        "event": {"action": "create", "scope": "discussion.comment"},
        "repo": {
            "type": "model",
            "name": "alice/model",
            "id": "1" * 24,
            "private": False,
            "url": {
                "web": "https://hf.co/alice/model",
                "api": "https://hf.co/api/models/alice/model",
            },
            "owner": {"id": "2" * 24},
        },
        "discussion": {
            "id": "3" * 24,
            "num": 4,
            "title": "x",
            "status": "open",
            "author": {"id": "4" * 24},
            "isPullRequest": True,
            "changes": {"base": "refs/heads/main"},
            "url": {"web": "https://hf.co/alice/model/discussions/4", "api": "https://hf.co/api"},
        },
        "comment": {
            "id": "5" * 24,
            "author": {"id": "6" * 24},
            "content": "/reviewbot fix\nplease",
            "hidden": False,
            "url": {"web": "https://hf.co/alice/model/discussions/4#c"},
        },
        "webhook": {"id": "7" * 24, "version": 3},
    }
    decision = route_huggingface(WebhookPayload.model_validate(raw), raw, RoutingPolicy())
    [sub] = decision.submissions
    assert sub.reason is Reason.FIX and sub.requested_by == "6" * 24 and sub.ref.number == 4
