"""Sign in with GitHub (the App's user-to-server OAuth) and ask GitHub as the signed-in user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests

from reviewbot.config import Settings

CALLBACK_PATH = "/dashboard/oauth/callback"
_TIMEOUT = 10


class SignInFailed(Exception):
    """GitHub refused the code or could not be asked; the message is safe to show."""


@dataclass(frozen=True)
class GitHubUser:
    """What GitHub says of whoever holds ``token``; ``token`` never leaves the server."""

    login: str
    token: str


class GitHubOAuth:
    """The App's OAuth client: the authorize URL, the code exchange, and user-token calls."""

    def __init__(self, settings: Settings) -> None:
        assert settings.github_client_id and settings.github_client_secret
        assert settings.reviewbot_public_url
        self.client_id = settings.github_client_id
        self._secret = settings.github_client_secret.get_secret_value()
        self.web_url = settings.github_web_url
        self.api_url = settings.github_api_url
        self.redirect_uri = settings.reviewbot_public_url + CALLBACK_PATH

    def authorize_url(self, state: str) -> str:
        # A GitHub App's user token carries the App's permissions, not scopes: none are asked.
        query = urlencode(
            {"client_id": self.client_id, "redirect_uri": self.redirect_uri, "state": state}
        )
        return f"{self.web_url}/login/oauth/authorize?{query}"

    def sign_in(self, code: str) -> GitHubUser:
        """Trade the callback's ``code`` for a user token, then ask who that is."""
        try:
            answer = requests.post(
                f"{self.web_url}/login/oauth/access_token",
                data={
                    "client_id": self.client_id,
                    "client_secret": self._secret,
                    "code": code,
                    "redirect_uri": self.redirect_uri,
                },
                headers={"Accept": "application/json"},
                timeout=_TIMEOUT,
            )
            body: Any = answer.json() if answer.ok else {}
        except (requests.RequestException, ValueError):
            raise SignInFailed("GitHub could not be reached to finish signing in") from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            # GitHub answers 200 with {"error": "bad_verification_code"} for a stale code
            raise SignInFailed("GitHub did not accept the sign-in; please sign in again")
        user = self._get(token, "/user")
        login = user.get("login") if isinstance(user, dict) else None
        if not isinstance(login, str) or not login:
            raise SignInFailed("GitHub did not say who signed in")
        return GitHubUser(login, token)

    def can_see(self, token: str, repo: str) -> bool:
        """GitHub shows ``repo`` to the token's user (a private one they cannot see is 404)."""
        return self._status(token, f"/repos/{repo}") == 200

    def permission(self, token: str, repo: str, login: str) -> str | None:
        """``login``'s collaborator permission on ``repo`` (admin, write, read...), or None."""
        try:
            body = self._get(token, f"/repos/{repo}/collaborators/{login}/permission")
        except SignInFailed:
            return None
        value = body.get("permission") if isinstance(body, dict) else None
        return value if isinstance(value, str) else None

    def _headers(self, token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def _status(self, token: str, path: str) -> int:
        try:
            answer = requests.get(
                self.api_url + path, headers=self._headers(token), timeout=_TIMEOUT
            )
        except requests.RequestException:
            return 0  # unknown: treated as not visible, never as visible
        return answer.status_code

    def _get(self, token: str, path: str) -> Any:
        try:
            answer = requests.get(
                self.api_url + path, headers=self._headers(token), timeout=_TIMEOUT
            )
            if not answer.ok:
                raise SignInFailed(f"GitHub answered {answer.status_code}")
            return answer.json()
        except (requests.RequestException, ValueError):
            raise SignInFailed("GitHub could not be reached") from None
