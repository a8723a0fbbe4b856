"""The Re-check button: CSRF checked, the user's permission checked, one job queued."""

from __future__ import annotations

import logging
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from reviewbot import dispatch
from reviewbot.models import ContributionRef, Kind, Platform
from reviewbot.platforms.base import RECHECK_PERMISSIONS
from reviewbot.web.dashboard import forms
from reviewbot.web.dashboard.guard import PageUser
from reviewbot.web.dashboard.pages import render
from reviewbot.web.dashboard.session import UserSession, csrf_ok
from reviewbot.web.dashboard.state import Dashboard, of

log = logging.getLogger(__name__)
router = APIRouter(prefix="/dashboard")


def may_recheck(dashboard: Dashboard, user: UserSession, platform: str, repo: str) -> bool:
    """As for ``/reviewbot recheck``: on GitHub a collaborator with write, maintain or admin;
    on the Hub, whoever the settings let see the repository (the Hub has no permission lookup)."""
    if platform == "github":
        permission = dashboard.oauth.permission(user.token, repo, user.login)
        return permission in RECHECK_PERMISSIONS
    return dashboard.visibility.hub_viewer(user.login, repo)


@router.post("/{platform}/{owner}/{repo}/{number}/recheck")
async def recheck(
    request: Request,
    platform: Literal["github", "hf"],
    owner: str,
    repo: str,
    number: int,
    user: PageUser,
) -> Response:
    dashboard = of(request)
    form = await forms.read(request)
    if not csrf_ok(user, form.get("csrf")):
        log.warning("dashboard re-check refused: bad CSRF token", extra={"login": user.login})
        return render(
            dashboard, "message.html", 403, title="Refused",
            message="The form was stale or not sent from this dashboard; reload the page.",
        )  # fmt: skip
    full = f"{owner}/{repo}"
    page = f"/dashboard/{platform}/{quote(full)}/{number}"
    seen = await run_in_threadpool(dashboard.visibility.may_see, user, platform, full)
    row = dashboard.history.contribution(platform, full, number) if seen else None
    if row is None:
        return render(
            dashboard, "message.html", 404, title="Not found", message="No such contribution."
        )
    if not await run_in_threadpool(may_recheck, dashboard, user, platform, full):
        log.info("dashboard re-check refused", extra={"login": user.login, "ref": row.ref})
        return RedirectResponse(f"{page}?refused=permission", status_code=303)
    ref = ContributionRef(
        Platform(platform),
        full,
        number,
        kind=Kind.NEW_MODEL if platform == "hf" and number == 0 else Kind.PULL_REQUEST,
    )
    try:
        # The job names the requester, so the worker checks their permission again, as it
        # does for a comment.
        await run_in_threadpool(
            dashboard.dispatcher.submit, ref, reason="recheck", requested_by=user.login
        )
    except dispatch.DispatchError:
        log.exception("dashboard re-check could not be queued", extra={"ref": row.ref})
        return RedirectResponse(f"{page}?refused=busy", status_code=303)
    log.info("dashboard re-check queued", extra={"login": user.login, "ref": row.ref})
    return RedirectResponse(f"{page}?queued=1", status_code=303)
