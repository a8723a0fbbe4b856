"""Every write to one contribution's platform: under its publish lock, for its head only, with
short transient failures retried in the job; and the reactions that acknowledge a command."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from reviewbot import retry_policy
from reviewbot.errors import PlatformError, TransientError
from reviewbot.models import ContributionRef
from reviewbot.notify import should_comment
from reviewbot.outcome import ReviewOutcome
from reviewbot.publish_lock import PublishLocks
from reviewbot.started_runs import StartedRuns

if TYPE_CHECKING:
    from reviewbot.composition import ReviewInputs
    from reviewbot.platforms.base import PlatformClient, Publication

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Acknowledge:
    """Reactions on the comment that asked for a re-check: best effort, as they are only an
    acknowledgement; a failure is logged and the review goes on."""

    client: PlatformClient
    ref: ContributionRef
    comment_id: int | None

    def __call__(self, content: str) -> None:
        if self.comment_id is None:
            return
        try:
            self.client.react(self.ref, self.comment_id, content)
        except PlatformError as exc:
            log.info("could not react %s: %s", content, exc, extra={"key": self.ref.key})


WRITE_ATTEMPTS = 4  # in this job, before a transient failure becomes the task's retry


@dataclass(frozen=True)
class Writer:
    """Every write to one contribution: under its lock, for its head only, the check run it
    opens recorded until closed (``reviewbot.started_runs``), short waits retried in the job."""

    client: PlatformClient
    locks: PublishLocks
    started: StartedRuns

    @classmethod
    def of(cls, client: PlatformClient, inputs: ReviewInputs) -> Writer:
        return cls(client, inputs.locks, inputs.started)

    def open_run(self, ref: ContributionRef) -> ReviewOutcome | None:
        """Show the review under way; the "superseded" outcome if ``ref`` is no longer the head."""

        def begin() -> None:
            self.client.begin(ref, head_of(ref))
            self.started.started(ref)

        return self._write(ref, begin)

    def post(
        self, ref: ContributionRef, publication: Publication, notify: str = "on-change"
    ) -> ReviewOutcome | None:
        """Post the verdict, the comment only as ``notify`` says (``reviewbot.notify``); the
        "superseded" outcome (nothing posted) if the head moved on."""

        def publish() -> None:
            # decided under the lock: what is posted now is what a concurrent job left
            speak = should_comment(
                notify,
                verdict=publication.verdict,
                fingerprint=publication.fingerprint,
                posted=self.client.find_verdict(ref),
                has_status=self.client.has_status,
            )
            if not speak:
                log.info("comment left as it is (%s)", notify, extra={"key": ref.key})
            self.client.publish(ref, replace(publication, comment=speak))
            self.started.finished(ref)

        return self._write(ref, publish)

    def supersede(self, ref: ContributionRef, head: str) -> ReviewOutcome:
        """``ref`` is for a commit that is no longer the head (now ``head``): close the run any
        attempt opened for it (a retry after a rate limit, say), so none stays in progress."""
        with self.locks.hold(ref):
            self.client.cancel(ref, head_of(ref))
        self.started.finished(ref)
        return ReviewOutcome(
            "superseded", ref.key, head_sha=ref.head_sha, detail=f"head is now {head}"
        )

    def _write(self, ref: ContributionRef, write: Callable[[], None]) -> ReviewOutcome | None:
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self.locks.hold(ref):
                    current = self.client.head_sha(ref)
                    if current == ref.head_sha:
                        write()
                        return None
                return self.supersede(ref, current)
            except TransientError as exc:
                wait = (
                    exc.retry_after
                    if exc.retry_after is not None
                    else retry_policy.backoff(attempt)
                )
                if attempt + 1 >= WRITE_ATTEMPTS or wait > retry_policy.IN_PROCESS_WAIT:
                    raise
                log.info("write failed (%s); again in %.1f s", exc, wait, extra={"key": ref.key})
                time.sleep(wait)
        raise AssertionError("unreachable: the last attempt raises")


def head_of(ref: ContributionRef) -> str:
    assert ref.head_sha is not None  # the flow pins the head before any write
    return ref.head_sha
