"""The GitHub App's identity: installation tokens cached per process, and the PyGithub clients."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from github import Auth, Github, GithubIntegration
from github.GithubException import RateLimitExceededExceedsMaxWait
from github.GithubRetry import GithubRetry
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from reviewbot.errors import PermanentError
from reviewbot.models import ContributionRef
from reviewbot.platforms.github.errors import github_errors
from reviewbot.platforms.github.tokens import cached_token, keep_token

# urllib3 may repeat these on a 5xx or a broken answer. Never POST: a create that GitHub carried
# out but answered 502 would be made twice. The review flow retries writes itself, after looking
# for what the first attempt made (``publish`` finds before it creates).
IDEMPOTENT_METHODS = Retry.DEFAULT_ALLOWED_METHODS - {"POST"}


class CappedRetry(GithubRetry):
    """GithubRetry that never sleeps longer than ``max_rate_limit_wait``.

    GithubRetry already raises RateLimitExceededExceedsMaxWait for a long primary or secondary
    rate-limit wait; urllib3 would still sleep through any ``Retry-After`` header, however long,
    so that wait is capped the same way and the Celery task retries with a countdown instead.
    """

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        wait = super().get_retry_after(response)
        cap = self.max_rate_limit_wait
        if wait is not None and cap is not None and wait > cap:
            raise RateLimitExceededExceedsMaxWait(
                response.status, None, dict(response.headers), wait=wait
            )
        return wait


@dataclass
class AppAuth:
    """One App on one API host: its installations' tokens and a PyGithub client per installation."""

    app_id: int
    private_key: str
    api_url: str
    max_rate_limit_wait: float
    http_retries: int
    timeout: int
    pace: dict[str, Any]

    def __post_init__(self) -> None:
        self._clients: dict[int, tuple[Github, str]] = {}

    def retry(self, *, posts: bool = False) -> CappedRetry:
        """``posts``: also repeat POSTs (safe only where a repeat creates nothing, like a token)."""
        methods = IDEMPOTENT_METHODS | {"POST"} if posts else IDEMPOTENT_METHODS
        return CappedRetry(
            total=self.http_retries,
            backoff_factor=0.5,
            max_rate_limit_wait=self.max_rate_limit_wait,
            allowed_methods=methods,
        )

    def integration(self) -> GithubIntegration:
        return GithubIntegration(
            auth=Auth.AppAuth(self.app_id, self.private_key),
            base_url=self.api_url,
            retry=self.retry(posts=True),  # a second installation token costs nothing
            timeout=self.timeout,
            **self.pace,
        )

    def installation_id(self, ref: ContributionRef) -> int:
        if ref.installation_id is not None:
            return int(ref.installation_id)
        # A CLI re-check names only the repository: ask GitHub which installation covers it.
        owner, repo = split_repo(ref.repo)
        with self.integration() as integration, github_errors():
            return int(integration.get_repo_installation(owner, repo).id)

    def installation_token(self, installation_id: int) -> str:
        """An installation access token, cached per process until shortly before it expires."""
        key = (self.api_url, self.app_id, installation_id)
        cached = cached_token(key)
        if cached is not None:
            return cached
        with self.integration() as integration, github_errors():
            granted = integration.get_access_token(installation_id)
        keep_token(key, granted.token, granted.expires_at)
        return granted.token

    def client(self, ref: ContributionRef) -> tuple[Github, str]:
        """The installation's PyGithub client and token, rebuilt when the token changes."""
        installation = self.installation_id(ref)
        token = self.installation_token(installation)
        known = self._clients.get(installation)
        if known is not None and known[1] == token:
            return known
        client = Github(
            auth=Auth.Token(token),
            base_url=self.api_url,
            retry=self.retry(),
            timeout=self.timeout,
            per_page=100,
            **self.pace,
            lazy=True,  # build objects from ids without a GET each; fields load on first use
        )
        self._clients[installation] = (client, token)
        return client, token


def split_repo(full_name: str) -> tuple[str, str]:
    owner, _, name = full_name.partition("/")
    if not owner or not name:
        raise PermanentError(f"not an owner/name repository: {full_name!r}")
    return owner, name
