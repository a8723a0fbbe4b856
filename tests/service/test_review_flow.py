"""The review flow's rules on an in-memory platform: fast, and about what a maintainer sees."""

from __future__ import annotations

import pytest

from reviewbot.errors import TransientError
from reviewbot.models import ContributionRef, Platform
from reviewbot.publish_lock import LocalLocks
from reviewbot.service import ReviewInputs, hub_access, review_contribution
from tests.fakes.memory_platform import MemoryPlatform
from tests.service.conftest import CLEAN_CARD

HEAD, NEWER = "1" * 40, "2" * 40
REF = ContributionRef(Platform.GITHUB, "acme/model", 7, head_sha=HEAD, installation_id=1)


def inputs() -> ReviewInputs:
    return ReviewInputs(hub_access(None), locks=LocalLocks())


def platform() -> MemoryPlatform:
    return MemoryPlatform(head=HEAD, files={"README.md": CLEAN_CARD, "notes.txt": b"hi\n"})


def test_a_review_posts_one_verdict_for_the_head_and_completes_its_run() -> None:
    client = platform()
    outcome = review_contribution(REF, platform=client, inputs=inputs())
    assert outcome.status == "posted"
    assert client.published(REF, HEAD)
    assert [r.status for r in client.runs] == ["completed"]


def test_the_same_delivery_again_changes_nothing() -> None:
    client = platform()
    review_contribution(REF, platform=client, inputs=inputs())
    again = review_contribution(REF, platform=client, inputs=inputs())
    assert again.status == "unchanged" and client.comment_writes == 1 and len(client.runs) == 1


def test_a_push_during_the_review_supersedes_it() -> None:
    client = platform()
    original = client.download

    def download_then_push(*args, **kwargs):  # type: ignore[no-untyped-def]
        fetched = original(*args, **kwargs)
        client.head = NEWER
        return fetched

    client.download = download_then_push  # type: ignore[method-assign]
    outcome = review_contribution(REF, platform=client, inputs=inputs())
    assert outcome.status == "superseded"
    assert client.comment is None
    assert [r.conclusion for r in client.runs] == ["cancelled"]


def test_a_write_that_fails_once_is_tried_again_in_the_job() -> None:
    client = platform()
    failures = ["publish"]

    def flaky(what: str) -> None:
        if what in failures:
            failures.remove(what)
            raise TransientError("HTTP 502: Bad Gateway", retry_after=0.01)

    client.on_write = flaky
    assert review_contribution(REF, platform=client, inputs=inputs()).status == "posted"
    assert client.published(REF, HEAD) and client.comment_writes == 1


def test_a_long_platform_wait_is_left_to_the_task_retry() -> None:
    client = platform()
    client.on_write = lambda what: (
        (_ for _ in ()).throw(TransientError("rate limited", retry_after=600))
        if what == "publish"
        else None
    )
    with pytest.raises(TransientError):
        review_contribution(REF, platform=client, inputs=inputs())
    assert client.comment is None  # nothing half-posted; the retry will finish


def test_a_recheck_from_someone_without_write_access_is_refused_silently() -> None:
    client = platform()
    refused = review_contribution(
        REF, reason="recheck", requested_by="passer-by", platform=client, inputs=inputs()
    )
    assert refused.status == "refused" and client.comment is None and client.runs == []
