"""Which repositories a signed-in user sees: GitHub decides for GitHub, a setting for the Hub."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from reviewbot.web.dashboard.auth import GitHubOAuth
from reviewbot.web.dashboard.session import UserSession

LOOKUPS = 8  # GitHub look-ups in flight at once for one user


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
        github = [item for item in known if item.startswith("github:")]
        hub = [item for item in known if item.startswith("hf:")]
        yield from (item for item in hub if self.hub_viewer(user.login, item[3:]))
        if not github:
            return
        # One request per repository, a few at a time: a history of many repositories is
        # looked up in about the time of one round trip per batch.
        with ThreadPoolExecutor(max_workers=min(LOOKUPS, len(github))) as pool:
            seen = pool.map(lambda item: self.oauth.can_see(user.token, item[7:]), github)
            yield from (item for item, ok in zip(github, seen, strict=True) if ok)

    def hub_viewer(self, login: str, repo: str) -> bool:
        """The setting names ``login`` for ``repo`` itself or for its whole organisation."""
        org = repo.split("/", 1)[0]
        wanted = login.lower()
        return any(wanted in self.hub_viewers.get(key, ()) for key in (repo, f"{org}/*"))
