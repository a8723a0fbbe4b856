"""Who may accept (and re-check) on the fake Hub: the repository's owner or a writer of the owning
organisation, matched by the id a webhook names; an accept by them lets a finding pass."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from reviewbot.history.waivers import SqlWaivers
from reviewbot.models import ContributionRef, Platform
from reviewbot.platforms.hub import HubPlatform
from reviewbot.platforms.hub_permissions import may_merge
from reviewbot.service import ReviewInputs, review_contribution
from tests.fakes import fake_hub
from tests.fakes.fake_hub import FakeHub
from tests.service.conftest import CLEAN_CARD

ROOT = Path(__file__).resolve().parents[2]
APACHE = (ROOT / "checks" / "licence" / "texts" / "apache-2.0.txt").read_bytes()
BASE = {"README.md": CLEAN_CARD, "LICENSE": APACHE}
# a pickle naming the contributor's own class: high, not critical (bytes, never loaded)
ARGS = {"training_args.bin": b"\x80\x02cmymodule\nThing\n)R."}
TEXT = "unknown-import -- our trainer's own config class"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[FakeHub]:
    yield from fake_hub.serve(tmp_path / "hub")


@pytest.fixture
def platform(hub: FakeHub) -> HubPlatform:
    return HubPlatform(endpoint=hub.endpoint, token="hf_test_token_0000")


@pytest.fixture
def inputs(platform: HubPlatform, tmp_path: Path) -> ReviewInputs:
    store = SqlWaivers(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    return replace(ReviewInputs.of(None, platform), waivers=store)


@pytest.fixture
def people(hub: FakeHub) -> dict[str, str]:
    hub.add_org("acme", {"lead": "admin", "writer": "write", "reader": "read"})
    hub.add_user("outsider")
    hub.add_user("alice")
    return dict(hub.users)


@pytest.mark.parametrize(
    ("repo", "who", "allowed"),
    [
        ("acme/model", "lead", True),
        ("acme/model", "writer", True),
        ("acme/model", "reader", False),  # a member, but not one who may merge
        ("acme/model", "outsider", False),
        ("alice/model", "alice", True),  # a user's own repository
        ("alice/model", "writer", False),
        ("nobody/model", "outsider", False),  # neither an organisation nor a user
    ],
)
def test_the_owner_or_an_org_writer_may_merge(
    platform: HubPlatform, people: dict[str, str], repo: str, who: str, allowed: bool
) -> None:
    assert may_merge(platform.api, repo, people[who]) is allowed
    assert may_merge(platform.api, repo, who) is allowed  # a user name matches as well


def hub_pull(hub: FakeHub, repo: str = "acme/model") -> ContributionRef:
    hub.add_repo(repo, BASE)
    return ContributionRef(Platform.HF, repo, hub.open_pr(repo, ARGS))


def verdict(hub: FakeHub, ref: ContributionRef) -> str:
    [comment] = hub.comments(ref.repo, ref.number)
    return str(comment["data"]["latest"]["raw"])


def test_a_writer_accept_turns_the_hub_verdict_into_a_pass(
    hub: FakeHub, platform: HubPlatform, inputs: ReviewInputs, people: dict[str, str]
) -> None:
    ref = hub_pull(hub)
    assert review_contribution(ref, platform=platform, inputs=inputs).verdict == "fail"

    outcome = review_contribution(
        ref,
        reason="accept",
        requested_by=people["writer"],
        platform=platform,
        inputs=inputs,
        accept=TEXT,
    )

    assert (outcome.verdict, outcome.accepted) == ("pass", 1)
    body = verdict(hub, ref)
    assert "reviewbot: pass" in body
    assert f"accepted by {people['writer']}: our trainer's own config class" in body


@pytest.mark.parametrize("who", ["outsider", "reader"])
def test_an_outsider_can_neither_accept_nor_recheck_on_the_hub(
    hub: FakeHub, platform: HubPlatform, inputs: ReviewInputs, people: dict[str, str], who: str
) -> None:
    ref = hub_pull(hub)
    review_contribution(ref, platform=platform, inputs=inputs)
    before = verdict(hub, ref)
    hub.push_pr(ref.repo, ref.number, {"notes.txt": b"more\n"})

    accepted = review_contribution(
        ref,
        reason="accept",
        requested_by=people[who],
        platform=platform,
        inputs=inputs,
        accept=TEXT,
    )
    rechecked = review_contribution(
        ref, reason="recheck", requested_by=people[who], platform=platform, inputs=inputs
    )

    assert (accepted.status, rechecked.status) == ("refused", "refused")
    assert verdict(hub, ref) == before  # not even the new head's review was posted
    assert inputs.waivers.of("hf", ref.repo, ref.number) == []
