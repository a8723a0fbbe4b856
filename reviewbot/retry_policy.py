"""When a review that failed on a platform error runs again, and when it gives up: one policy.

The Celery tasks and the embedded pool both follow it. Transient errors (outages, 5xx, rate
limits) are retried with exponential backoff, capped at ``BACKOFF_CAP`` and jittered (half to
all of the step, so a burst of failed jobs does not come back in step), or after the wait the
platform asked for. ``MAX_RETRIES`` is chosen so that, even with the least jitter, a job keeps
trying for more than ``MIN_BUDGET`` seconds (half an hour) before it posts an "error" verdict:
long enough to ride out an outage or an hour-long primary rate limit's remainder.
"""

from __future__ import annotations

import random

from reviewbot.errors import PlatformError

MAX_RETRIES = 20
BACKOFF_CAP = 300.0  # seconds between two attempts at most, unless the platform asks for more
MAX_COUNTDOWN = 3600.0  # a rate-limit reset is at most an hour away
MIN_BUDGET = 1800.0
# A platform wait this short is slept through inside the job (its lock released) rather than
# rescheduling the whole job; longer ones become a retry with a countdown.
IN_PROCESS_WAIT = 30.0


def backoff(retries: int) -> float:
    """The full step before retry number ``retries + 1``: 1, 2, 4 … ``BACKOFF_CAP`` seconds."""
    return min(BACKOFF_CAP, 2.0 ** min(retries, 30))


def countdown(
    retries: int, retry_after: float | None = None, *, rng: random.Random | None = None
) -> float:
    """Seconds to wait before the next attempt, after ``retries`` earlier retries."""
    if retry_after is not None:
        return min(MAX_COUNTDOWN, retry_after) + 1.0  # +1: a reset's second is fuzzy
    return backoff(retries) * (rng or random).uniform(0.5, 1.0)


def least_budget() -> float:
    """The shortest total wait before giving up (every jitter at its least)."""
    return sum(backoff(n) * 0.5 for n in range(MAX_RETRIES))


def is_last_attempt(retries: int) -> bool:
    return retries >= MAX_RETRIES


def failure_message(exc: BaseException) -> str:
    """What the error verdict says: a platform error's text is written for users, while any
    other exception's may hold internals, so only its type is named."""
    why = (
        str(exc) if isinstance(exc, PlatformError) else f"an internal error ({type(exc).__name__})"
    )
    return f"the review failed: {why}"
