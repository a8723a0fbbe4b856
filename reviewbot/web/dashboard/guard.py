"""Who may ask: pages send the signed-out to sign in, the API answers 401, never data."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reviewbot.web.dashboard.session import UserSession
from reviewbot.web.dashboard.state import of

# Headers on every dashboard answer: nothing cached, framed, or loaded from elsewhere.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class SignInRequired(HTTPException):
    """A page asked for while signed out: a redirect to sign in, back here afterwards."""

    def __init__(self, back: str) -> None:
        super().__init__(
            status_code=303,
            headers={"Location": f"/dashboard/signin?next={quote(back, safe='')}"},
        )


def page_user(request: Request) -> UserSession:
    user = of(request).sessions.current(request)
    if user is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(back)
    return user


def api_user(request: Request) -> UserSession:
    user = of(request).sessions.current(request)
    if user is None:
        raise HTTPException(
            status_code=401,
            detail="sign in first",
            headers={"WWW-Authenticate": 'Cookie realm="reviewbot dashboard"'},
        )
    return user


PageUser = Annotated[UserSession, Depends(page_user)]
ApiUser = Annotated[UserSession, Depends(api_user)]


class DashboardHeaders:
    """ASGI middleware: the security headers above on every ``/dashboard`` answer only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/dashboard"):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)
