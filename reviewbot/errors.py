"""Every error reviewbot raises, in one place; what each means for whoever catches it.

    Exception
    ├── ConfigError          the environment does not describe a runnable service
    ├── UsageError           bad command-line arguments: exit 2 with the message
    ├── SetupError           `reviewbot setup` cannot go on: exit 2, one line
    ├── ActionError          the Action's runner environment is not a pull-request workflow's
    ├── RemoteListingError   a Hub repository or revision cannot be listed
    ├── DispatchError        a job could not be handed over: the sender redelivers later
    │   └── Busy             the embedded pool is full
    ├── TooLarge             a webhook body over the cap (declared or streamed)
    ├── BadLength            a Content-Length that is not a number
    ├── ValueError
    │   └── BadPayload       a signed body that is not a usable JSON object: 400
    └── PlatformError        a platform call failed (never carries a token)
        ├── TransientError   retry later: an outage, a timeout, a rate limit (``retry_after``)
        └── PermanentError   retrying cannot help: not found, forbidden, a corrupt download

The checks raise their own (``checks.io``'s ``SourceReadError`` and ``LimitExceeded``): they are
turned into findings before a review ends, never seen here.
"""

from __future__ import annotations

# Statuses worth retrying: timeouts, "too early", rate limits and every server-side failure.
TRANSIENT_STATUSES = frozenset({408, 425, 429})


class ConfigError(Exception):
    """The environment does not describe a runnable service; the message names the setting."""


class SetupError(Exception):
    """The setup cannot go on: exit 2 with this one-line message, never a traceback."""


class ActionError(Exception):
    """The runner's environment is not what a pull-request workflow gives: exit 2, one line."""


class RemoteListingError(Exception):
    """A Hub repository or revision cannot be listed (missing, gated, unreachable)."""


class DispatchError(Exception):
    """The job could not be handed over (queue unreachable or pool full): try again later."""


class Busy(DispatchError):
    """The embedded pool already holds as many waiting jobs as it may."""


class TooLarge(Exception):
    """The body is over the cap (declared or streamed)."""


class BadLength(Exception):
    """Content-Length is not a number."""


class BadPayload(ValueError):
    """The body is not a JSON object; the message is one line, safe to send back."""


class UsageError(Exception):
    """Bad command-line arguments: the CLI exits 2 with the message, never a traceback."""


class PlatformError(Exception):
    """A platform call failed; the message never carries a token or a request header."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientError(PlatformError):
    """Retry later: an outage, a timeout or a rate limit.

    ``retry_after`` is the wait the platform asked for (a rate-limit reset or ``Retry-After``),
    so the task can retry with that countdown instead of a worker sleeping through it.
    """

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class PermanentError(PlatformError):
    """Retrying cannot help: not found, forbidden, invalid request, a corrupt download."""


def is_transient_status(status: int) -> bool:
    return status >= 500 or status in TRANSIENT_STATUSES


def error_for_status(
    status: int, message: str, *, retry_after: float | None = None
) -> PlatformError:
    """The one place an HTTP status becomes a transient or a permanent error."""
    text = f"HTTP {status}: {message}"
    if is_transient_status(status):
        return TransientError(text, status=status, retry_after=retry_after)
    return PermanentError(text, status=status)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header; the HTTP-date form is rare on these APIs."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
