"""Find check runs left in progress past any review's time and finish them (see started_runs)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from reviewbot.models import ContributionRef
from reviewbot.started_runs import RedisStartedRuns

log = logging.getLogger(__name__)

MAX_SWEEPS = 3  # re-queues of one run before it gets an "error" verdict instead


@dataclass
class SweepResult:
    requeued: list[ContributionRef] = field(default_factory=list)
    failed: list[ContributionRef] = field(default_factory=list)


def sweep(
    runs: RedisStartedRuns,
    *,
    older_than: float,
    requeue: Callable[[ContributionRef], object],
    give_up: Callable[[ContributionRef, str], object],
) -> SweepResult:
    """Queue each overdue contribution's review again; past ``MAX_SWEEPS``, post an error.

    The re-queued review runs the ordinary flow: it completes the open run with a verdict, or
    cancels it when the head has moved on. Safe to run beside the original job, should that
    still be alive: the publish lock and find-before-create keep one verdict.
    """
    result = SweepResult()
    for ref in runs.overdue(older_than):
        tries = runs.retried(ref)
        if tries > MAX_SWEEPS:
            log.error("check run still open after %d re-queues: giving up", MAX_SWEEPS,
                      extra={"key": ref.key})  # fmt: skip
            give_up(ref, f"the review did not finish after {MAX_SWEEPS} attempts")
            runs.finished(ref)
            result.failed.append(ref)
            continue
        log.warning("check run left in progress: review queued again", extra={"key": ref.key})
        requeue(ref)
        result.requeued.append(ref)
    return result
