"""GitHub's failures mapped onto reviewbot's transient and permanent errors, in one place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import requests
from github.GithubException import (
    GithubException,
    RateLimitExceededExceedsMaxWait,
    RateLimitExceededException,
)

from reviewbot.errors import (
    PlatformError,
    TransientError,
    error_for_status,
    parse_retry_after,
)
from reviewbot.platforms.github.tokens import clear_token_cache

# Phrases GitHub puts in a 403 that is a rate limit rather than a refusal.
_RATE_LIMIT_WORDS = ("rate limit", "abuse detection")


def raise_for(resp: requests.Response, what: str) -> None:
    if resp.status_code < 400:
        return
    wait = wait_from_headers(resp.headers)
    if resp.status_code == 403 and is_rate_limit(resp):
        # a secondary (or primary) rate limit on a download or the LFS batch: wait, never fail
        raise TransientError(f"{what}: GitHub rate limit", status=403, retry_after=wait)
    raise error_for_status(resp.status_code, f"{what} refused", retry_after=wait)


def is_rate_limit(resp: requests.Response) -> bool:
    headers = {k.lower(): v for k, v in resp.headers.items()}
    if headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers:
        return True
    try:
        text = resp.text[:2000].lower()
    except Exception:  # an undecodable body says nothing either way
        return False
    return any(word in text for word in _RATE_LIMIT_WORDS)


def wait_from_headers(headers: Any) -> float | None:
    lowered = {str(k).lower(): str(v) for k, v in dict(headers or {}).items()}
    after = parse_retry_after(lowered.get("retry-after"))
    if after is not None:
        return after
    reset = lowered.get("x-ratelimit-reset")
    if reset and reset.isdigit() and lowered.get("x-ratelimit-remaining") == "0":
        return max(1.0, int(reset) - datetime.now(UTC).timestamp() + 1)
    return None


def _rate_limit_wait(exc: GithubException) -> float | None:
    return wait_from_headers(exc.headers)


@contextmanager
def github_errors() -> Iterator[None]:
    """Map PyGithub and requests failures onto TransientError / PermanentError."""
    try:
        yield
    except PlatformError:
        raise
    except RateLimitExceededExceedsMaxWait as exc:
        raise TransientError(
            "GitHub rate limit: retrying later", status=exc.status, retry_after=exc.wait
        ) from exc
    except RateLimitExceededException as exc:
        raise TransientError(
            "GitHub rate limit: retrying later",
            status=exc.status,
            retry_after=_rate_limit_wait(exc),
        ) from exc
    except GithubException as exc:
        if exc.status == 401:
            # an installation token revoked early: forget it so the retry asks for a new one
            clear_token_cache()
            raise TransientError("GitHub refused the token", status=401) from exc
        data = exc.data if isinstance(exc.data, dict) else {}
        message = str(data.get("message") or exc.message or "error")
        raise error_for_status(
            exc.status, f"GitHub: {message}", retry_after=_rate_limit_wait(exc)
        ) from exc
    except requests.RequestException as exc:
        # connection failures, timeouts, and urllib3 retries exhausted on 5xx
        raise TransientError(f"GitHub unreachable: {type(exc).__name__}") from exc
