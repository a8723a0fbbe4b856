"""Which repositories a signed-in user sees: GitHub decides for GitHub, a setting for the Hub."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from reviewbot.web.dashboard.auth import GitHubOAuth
from reviewbot.web.dashboard.session import UserSession


class Visibility:
    """Asks GitHub, as the user, about each GitHub repository the history knows; cached briefly."""

    def __init__(
        self,
        oauth: GitHubOAuth,
        known: Callable[[], Sequence[str]],
        hub_viewers: Mapping[str, Sequence[str]],
        ttl: float,
    ) -> None:
        self.oauth = oauth
        self.known = known
        self.hub_viewers = {key: {login.lower() for login in v} for key, v in hub_viewers.items()}
        self.ttl = ttl

    def repos(self, user: UserSession) -> frozenset[str]:
        """``platform:owner/name`` for every known repository ``user`` may see."""
        now = time.monotonic()
        if user.visible is not None and now - user.visible_at < self.ttl:
            return user.visible
        visible = frozenset(self._check(user, self.known()))
        user.visible, user.visible_at = visible, now
        return visible

    def may_see(self, user: UserSession, platform: str, repo: str) -> bool:
        return f"{platform}:{repo}" in self.repos(user)

    def _check(self, user: UserSession, known: Iterable[str]) -> Iterable[str]:
        for item in known:
            platform, _, repo = item.partition(":")
            if platform == "github":
                seen = self.oauth.can_see(user.token, repo)
            else:
                seen = platform == "hf" and self.hub_viewer(user.login, repo)
            if seen:
                yield item

    def hub_viewer(self, login: str, repo: str) -> bool:
        """The setting names ``login`` for ``repo`` itself or for its whole organisation."""
        org = repo.split("/", 1)[0]
        wanted = login.lower()
        return any(wanted in self.hub_viewers.get(key, ()) for key in (repo, f"{org}/*"))
