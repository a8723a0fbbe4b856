"""``GET /dashboard/api/contributions``: the triage JSON, filtered to what the user may see."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reviewbot.errors import UsageError
from reviewbot.web.dashboard.guard import ApiUser, api_user
from reviewbot.web.dashboard.query import parse_list, unpaged
from reviewbot.web.dashboard.state import of

router = APIRouter(prefix="/dashboard/api")


@router.get("/contributions")
def contributions(request: Request, user: ApiUser) -> Response:
    dashboard = of(request)
    visible = dashboard.visibility.repos(user)
    try:
        wanted = parse_list(request.query_params, datetime.now(UTC), visible)
    except UsageError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    rows = dashboard.history.contributions(wanted.query)
    total = dashboard.history.count(unpaged(wanted))
    # The body is exactly ``reviewbot triage --format json``; paging rides in the headers.
    headers = {"X-Total-Count": str(total)}
    if wanted.page * wanted.per_page < total:
        headers["Link"] = f'<{request.url.path}{wanted.link(page=wanted.page + 1)}>; rel="next"'
    return JSONResponse({"contributions": [row.to_json() for row in rows]}, headers=headers)


@router.api_route("/{rest:path}", methods=["GET", "POST"])
async def other(request: Request, rest: str) -> Response:
    # Signed out, every API path is 401 (checked first, so nothing says what exists).
    await run_in_threadpool(api_user, request)
    return JSONResponse({"error": "no such API"}, status_code=404)
