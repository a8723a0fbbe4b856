"""Platform errors split into transient (retry the task later) and permanent (give up)."""

from __future__ import annotations

# Statuses worth retrying: timeouts, "too early", rate limits and every server-side failure.
TRANSIENT_STATUSES = frozenset({408, 425, 429})


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
