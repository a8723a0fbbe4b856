"""Who is signed in: a signed cookie names a server-side session; CSRF tokens tied to it."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from starlette.requests import Request

SESSION_SECONDS = 8 * 3600
_SID, _CSRF, _STATE = "sid", "csrf", "oauth_state"


@dataclass
class UserSession:
    """One signed-in user. The token stays here, server side: the cookie holds only ``sid``."""

    login: str
    token: str
    csrf: str
    started: float = field(default_factory=time.monotonic)
    visible: frozenset[str] | None = None  # "platform:owner/name", cached
    visible_at: float = 0.0


class SessionStore:
    """Signed-in sessions in this process's memory; a restart signs everyone out."""

    def __init__(self, lifetime: float = SESSION_SECONDS) -> None:
        self.lifetime = lifetime
        self._sessions: dict[str, UserSession] = {}
        self._lock = threading.Lock()

    def open(self, request: Request, login: str, token: str) -> UserSession:
        """A fresh session (new id, new CSRF token) for a user who just signed in."""
        sid = secrets.token_urlsafe(32)
        user = UserSession(login, token, secrets.token_urlsafe(32))
        with self._lock:
            self._expire()
            self._sessions[sid] = user
        request.session.clear()
        request.session[_SID] = sid
        return user

    def current(self, request: Request) -> UserSession | None:
        sid = request.session.get(_SID)
        if not isinstance(sid, str):
            return None
        with self._lock:
            user = self._sessions.get(sid)
            if user is not None and time.monotonic() - user.started > self.lifetime:
                del self._sessions[sid]
                user = None
        return user

    def close(self, request: Request) -> None:
        sid = request.session.get(_SID)
        with self._lock:
            if isinstance(sid, str):
                self._sessions.pop(sid, None)
        request.session.clear()

    def _expire(self) -> None:
        now = time.monotonic()
        for sid in [s for s, u in self._sessions.items() if now - u.started > self.lifetime]:
            del self._sessions[sid]


def csrf_ok(user: UserSession, sent: str | None) -> bool:
    """The form carried this session's CSRF token (compared in constant time)."""
    return bool(sent) and hmac.compare_digest(user.csrf.encode(), (sent or "").encode())


def new_state(request: Request) -> str:
    """The OAuth ``state`` for one sign-in, remembered in the signed cookie."""
    state = secrets.token_urlsafe(24)
    request.session[_STATE] = state
    return state


def state_ok(request: Request, sent: str | None) -> bool:
    """``sent`` is the state this browser was given; it is used up either way."""
    expected = request.session.pop(_STATE, None)
    return (
        isinstance(expected, str)
        and bool(sent)
        and hmac.compare_digest(expected.encode(), (sent or "").encode())
    )
