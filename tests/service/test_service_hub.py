"""The service against the fake Hub: refs/pr/N files with LFS sha256, one comment edited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save

from reviewbot.models import ContributionRef, Kind, Platform
from reviewbot.platforms.hub import HubPlatform
from reviewbot.sample import build_sample
from reviewbot.service import review_contribution
from tests.fakes import fake_hub
from tests.fakes.fake_hub import FakeHub
from tests.service.conftest import CLEAN_CARD, commenting_on_new_models

WATCHED = "acme/base-7b"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[FakeHub]:
    yield from fake_hub.serve(tmp_path / "hub")


@pytest.fixture
def platform(hub: FakeHub) -> HubPlatform:
    return HubPlatform(endpoint=hub.endpoint, token="hf_test_token_0000", watched=[WATCHED])


def weights() -> bytes:
    return save({"w": np.ones((4, 4), dtype=np.float32)}, metadata={"format": "pt"})


def test_hostile_hub_pull_request_fails_and_rerun_edits(
    hub: FakeHub, platform: HubPlatform, tmp_path: Path
) -> None:
    hub.add_repo("org/model", {"README.md": CLEAN_CARD, "model.safetensors": weights()})
    sample = build_sample(tmp_path / "sample")
    number = hub.open_pr(
        "org/model", {"pytorch_model.bin": (sample / "pytorch_model.bin").read_bytes()}
    )
    ref = ContributionRef(Platform.HF, "org/model", number)

    first = review_contribution(ref, platform=platform)
    body = hub.comments("org/model", number)[0]["data"]["latest"]["raw"]
    assert first.status == "posted" and first.verdict == "fail", body
    [comment] = hub.comments("org/model", number)
    assert comment["data"]["latest"]["raw"].startswith("<!-- reviewbot:verdict -->")
    # The pull request's own file plus the unchanged card read for context, at the exact commit;
    # never main's unchanged weights.
    fetched = sorted(p for m, p in hub.requests if m == "GET" and "/resolve/" in p)
    assert fetched == [
        f"/org/model/resolve/{first.head_sha}/{name}" for name in ("README.md", "pytorch_model.bin")
    ]

    assert review_contribution(ref, platform=platform).status == "unchanged"
    sha2 = hub.push_pr("org/model", number, {"pytorch_model.bin": b"not a pickle any more\n"})
    hub.add_user("maintainer", "12345")
    hub.add_org("org", {"maintainer": "write"})  # only a writer of the owning org may re-check
    second = review_contribution(ref, reason="recheck", requested_by="12345", platform=platform)
    assert second.status == "posted" and second.head_sha == sha2
    [comment] = hub.comments("org/model", number)
    assert comment["data"]["edited"] and sha2[:12] in comment["data"]["latest"]["raw"]


def test_superseded_hub_head_posts_nothing(hub: FakeHub, platform: HubPlatform) -> None:
    hub.add_repo("org/model", {"README.md": CLEAN_CARD})
    number = hub.open_pr("org/model", {"notes.txt": b"one\n"})
    ref = ContributionRef(Platform.HF, "org/model", number, head_sha="0" * 40)
    assert review_contribution(ref, platform=platform).status == "superseded"
    assert hub.comments("org/model", number) == []


def test_new_model_reviewed_only_when_its_base_is_watched(
    hub: FakeHub, platform: HubPlatform
) -> None:
    card = f"---\nlicense: apache-2.0\nbase_model: {WATCHED}\n---\n# tune\n".encode()
    hub.add_repo("someone/tune", {"README.md": card, "model.safetensors": weights()})
    hub.add_repo("someone/other", {"README.md": CLEAN_CARD, "model.safetensors": weights()})
    watched = ContributionRef(Platform.HF, "someone/tune", 0, kind=Kind.NEW_MODEL)
    other = ContributionRef(Platform.HF, "someone/other", 0, kind=Kind.NEW_MODEL)

    assert review_contribution(other, platform=platform).status == "skipped"
    assert hub.discussions.get("someone/other", {}) == {}
    outcome = review_contribution(
        watched, platform=platform, inputs=commenting_on_new_models(platform)
    )
    assert outcome.status == "posted"
    [discussion] = hub.discussions["someone/tune"].values()
    assert discussion["events"][0]["data"]["latest"]["raw"].startswith("<!-- reviewbot:verdict")
    # A re-check edits the opening comment of the same discussion.
    review_contribution(
        watched, reason="recheck", platform=platform, inputs=commenting_on_new_models(platform)
    )
    assert len(hub.discussions["someone/tune"]) == 1


def test_a_fine_tune_uploaded_over_several_pushes_is_reviewed_once_card_and_weights_are_there(
    hub: FakeHub, platform: HubPlatform
) -> None:
    """As huggingface_hub uploads it: the Hub's own first commit, then the card, then weights."""
    repo = "someone/slow-upload"
    ref = ContributionRef(Platform.HF, repo, 0, kind=Kind.NEW_MODEL)
    hub.add_repo(repo, {".gitattributes": "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"})
    assert review_contribution(ref, platform=platform).detail.startswith(
        "waiting for its model card"
    )
    card = f"---\nlicense: apache-2.0\nbase_model: {WATCHED}\n---\n# tune\n".encode()
    hub.add_repo(repo, {"README.md": card})
    assert review_contribution(ref, platform=platform).detail == "waiting for its weights"
    assert hub.discussions.get(repo, {}) == {}

    hub.add_repo(repo, {"model.safetensors": weights()})
    speak = commenting_on_new_models(platform)
    assert review_contribution(ref, platform=platform, inputs=speak).status == "posted"
    hub.add_repo(repo, {"notes.md": b"more\n"})  # pushes go on: the verdict is not repeated
    later = review_contribution(ref, platform=platform, inputs=speak)
    assert later.status == "skipped" and "once" in later.detail
    [discussion] = hub.discussions[repo].values()
    assert len(discussion["events"]) == 1


def test_whoami_is_asked_once_per_process(hub: FakeHub) -> None:
    hub.add_repo("org/model", {"README.md": CLEAN_CARD})
    token = "hf_test_token_whoami_1"
    for _ in range(3):
        number = hub.open_pr("org/model", {"notes.txt": b"one\n"})
        client = HubPlatform(endpoint=hub.endpoint, token=token, watched=[WATCHED])
        ref = ContributionRef(Platform.HF, "org/model", number)
        assert review_contribution(ref, platform=client).status == "posted"
    assert [p for _, p in hub.requests if p == "/api/whoami-v2"] == ["/api/whoami-v2"]


def test_a_review_reads_the_discussion_once_and_again_only_to_write(
    hub: FakeHub, platform: HubPlatform
) -> None:
    hub.add_repo("org/model", {"README.md": CLEAN_CARD})
    number = hub.open_pr("org/model", {"notes.txt": b"one\n"})
    hub.requests.clear()
    ref = ContributionRef(Platform.HF, "org/model", number)
    assert review_contribution(ref, platform=platform).status == "posted"
    reads = [p for m, p in hub.requests if m == "GET" and p.endswith(f"/discussions/{number}")]
    # skip check, target branch, base commit and "already posted?" share one read; the write
    # reads afresh under the lock, so a comment posted meanwhile by another job is seen
    assert len(reads) == 2
