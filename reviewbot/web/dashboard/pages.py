"""The dashboard's HTML pages: the triage list with its charts, and one contribution."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from reviewbot.errors import UsageError
from reviewbot.history.view import SEVERITIES
from reviewbot.web.dashboard import charts, timeline
from reviewbot.web.dashboard.guard import PageUser
from reviewbot.web.dashboard.query import parse_list, unpaged
from reviewbot.web.dashboard.session import UserSession
from reviewbot.web.dashboard.state import Dashboard, of

router = APIRouter(prefix="/dashboard")


def render(dashboard: Dashboard, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    page = dashboard.templates.get_template(name)
    return HTMLResponse(page.render(severities=SEVERITIES, **context), status_code=status)


@router.get("")
@router.get("/")
def contribution_list(request: Request, user: PageUser) -> Response:
    status, html = list_page(of(request), user, request.query_params, datetime.now(UTC))
    return HTMLResponse(html, status_code=status)


def list_page(
    dashboard: Dashboard, user: UserSession, params: QueryParams, now: datetime
) -> tuple[int, str]:
    """The list page's status and HTML: what ``benchmarks/dashboard_render.py`` times."""
    visible = dashboard.visibility.repos(user)
    try:
        wanted = parse_list(params, now, visible)
    except UsageError as exc:
        page = dashboard.templates.get_template("message.html")
        return 400, page.render(title="Bad filter", message=str(exc))
    history = dashboard.history
    total = history.count(unpaged(wanted))
    page = dashboard.templates.get_template("list.html")
    return 200, page.render(
        severities=SEVERITIES,
        user=user,
        rows=history.contributions(wanted.query),
        total=total,
        wanted=wanted,
        pages=max(1, -(-total // wanted.per_page)),
        repos=sorted(visible),
        now=now,
        charts=(
            charts.verdicts_per_week(history.verdicts_per_week(repos=visible)),
            charts.top_rules(history.top_rules(limit=8, repos=visible)),
            charts.push_to_verdict(
                history.push_to_verdict_histogram(charts.BUCKETS, repos=visible)
            ),
        ),
    )


@router.get("/{platform}/{owner}/{repo}/{number}")
def contribution_page(
    request: Request,
    platform: Literal["github", "hf"],
    owner: str,
    repo: str,
    number: int,
    user: PageUser,
) -> Response:
    dashboard = of(request)
    full = f"{owner}/{repo}"
    row = (
        dashboard.history.contribution(platform, full, number)
        if dashboard.visibility.may_see(user, platform, full)
        else None
    )
    if row is None:
        # The same answer for "no such contribution" and "not yours to see".
        return render(
            dashboard, "message.html", 404, title="Not found", message="No such contribution."
        )
    reviews = dashboard.history.reviews_of(platform, full, number)
    latest = reviews[0] if reviews else None
    findings = timeline.sorted_findings(latest.findings) if latest else []
    return render(
        dashboard,
        "contribution.html",
        user=user,
        row=row,
        steps=timeline.steps(reviews),
        findings=findings,
        files=latest.files if latest else [],
        evals=timeline.eval_tables(findings),
        states=dashboard.history.states_of(platform, full, number),
        queued=request.query_params.get("queued") == "1",
        refused=request.query_params.get("refused"),
    )
