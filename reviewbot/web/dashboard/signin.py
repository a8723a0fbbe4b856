"""Sign in and out: to GitHub's authorize page and back, the ``state`` checked."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from reviewbot.web.dashboard import forms
from reviewbot.web.dashboard.auth import SignInFailed
from reviewbot.web.dashboard.guard import PageUser
from reviewbot.web.dashboard.session import csrf_ok, new_state, state_ok
from reviewbot.web.dashboard.state import of

log = logging.getLogger(__name__)
router = APIRouter(prefix="/dashboard")
_NEXT = "next"


def _safe_next(value: str | None) -> str:
    # Only a path of this dashboard: an absolute or scheme-relative URL would be an open redirect.
    if value and value.startswith("/dashboard") and not value.startswith("//"):
        return value
    return "/dashboard"


@router.get("/signin")
def sign_in(request: Request, next: str | None = None) -> Response:
    dashboard = of(request)
    state = new_state(request)
    request.session[_NEXT] = _safe_next(next)
    return RedirectResponse(dashboard.oauth.authorize_url(state), status_code=303)


@router.get("/oauth/callback")
async def callback(request: Request, code: str | None = None, state: str | None = None) -> Response:
    dashboard = of(request)
    if not state_ok(request, state) or not code:
        log.warning("dashboard sign-in refused: the OAuth state did not match")
        return _failed(request, "This sign-in link is stale or was not started here.")
    try:
        user = await run_in_threadpool(dashboard.oauth.sign_in, code)
    except SignInFailed as exc:
        log.warning("dashboard sign-in failed", extra={"reason": str(exc)})
        return _failed(request, str(exc))
    back = _safe_next(request.session.get(_NEXT))
    dashboard.sessions.open(request, user.login, user.token)
    log.info("dashboard sign-in", extra={"login": user.login})
    return RedirectResponse(back, status_code=303)


@router.post("/signout")
async def sign_out(request: Request, user: PageUser) -> Response:
    form = await forms.read(request)
    if not csrf_ok(user, form.get("csrf")):
        return HTMLResponse("The form was stale; reload the page.", status_code=403)
    of(request).sessions.close(request)
    return RedirectResponse("/dashboard/signed-out", status_code=303)


@router.get("/signed-out")
def signed_out(request: Request) -> Response:
    page = of(request).templates.get_template("message.html")
    return HTMLResponse(
        page.render(title="Signed out", message="You are signed out.", sign_in=True)
    )


def _failed(request: Request, message: str) -> Response:
    page = of(request).templates.get_template("message.html")
    return HTMLResponse(
        page.render(title="Sign-in failed", message=message, sign_in=True), status_code=400
    )
