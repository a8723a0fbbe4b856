"""An accept travels to the workers with its arguments, and is never coalesced into a review."""

from __future__ import annotations

import redis

from reviewbot.dispatch import CeleryDispatcher
from reviewbot.models import ContributionRef, Kind, Platform
from tests.service.test_web_queue import queued
from tests.service.web_helpers import Recorder

REF = ContributionRef(Platform.GITHUB, "acme/models", 12, None, Kind.PULL_REQUEST, 77)
ARGS = "unknown-import training_args.bin -- vetted"


def test_an_accept_is_queued_with_its_arguments_beside_a_pending_review(
    redis_url: str, client: redis.Redis
) -> None:
    dispatcher = CeleryDispatcher(redis_url)
    try:
        dispatcher.submit(REF, reason="review")
        dispatcher.submit(
            REF, reason="accept", requested_by="maintainer", comment_id=5, accept=ARGS
        )
    finally:
        dispatcher.close()

    by_reason = {m["kwargs"]["reason"]: m for m in queued(client)}
    review, accept = by_reason["review"], by_reason["accept"]
    assert "accept" not in review["kwargs"]  # other messages keep their shape
    assert accept["kwargs"] == {
        **REF.to_dict(),
        "reason": "accept",
        "requested_by": "maintainer",
        "comment_id": 5,
        "accept": ARGS,
    }


def test_the_embedded_pool_hands_the_arguments_to_the_review() -> None:
    from reviewbot import dispatch

    recorder = Recorder()
    dispatch.configure(runner=recorder)
    try:
        dispatch.submit(REF, reason="accept", requested_by="maintainer", accept=ARGS)
        (call,) = recorder.wait_for(1)
    finally:
        dispatch.shutdown(wait=True)
    assert (call.reason, call.accept) == ("accept", ARGS)
