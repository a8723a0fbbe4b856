"""Wire the dashboard into the web app: its state, the session cookie, its routes."""

from __future__ import annotations

from fastapi import FastAPI
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.middleware.sessions import SessionMiddleware

from reviewbot import dispatch, logs
from reviewbot.config import Settings
from reviewbot.history.store import HistoryStore
from reviewbot.web.dashboard import api, pages, recheck, signin
from reviewbot.web.dashboard.auth import GitHubOAuth
from reviewbot.web.dashboard.guard import DashboardHeaders
from reviewbot.web.dashboard.session import SESSION_SECONDS, SessionStore
from reviewbot.web.dashboard.state import Dashboard
from reviewbot.web.dashboard.visibility import Visibility

COOKIE = "reviewbot_session"


def templates() -> Environment:
    return Environment(
        loader=PackageLoader("reviewbot.web.dashboard", "templates"),
        autoescape=select_autoescape(("html",), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def install(
    app: FastAPI, settings: Settings, dispatcher: dispatch.Dispatcher, history: HistoryStore
) -> Dashboard:
    """Add the dashboard's routes and its signed session cookie to ``app``."""
    assert settings.reviewbot_session_secret is not None and settings.reviewbot_public_url
    secret = settings.reviewbot_session_secret.get_secret_value()
    logs.register_secret(secret)
    if settings.github_client_secret is not None:
        logs.register_secret(settings.github_client_secret.get_secret_value())
    oauth = GitHubOAuth(settings)
    dashboard = Dashboard(
        settings=settings,
        history=history,
        dispatcher=dispatcher,
        oauth=oauth,
        sessions=SessionStore(),
        visibility=Visibility(
            oauth,
            history.repositories,
            settings.reviewbot_hub_viewers,
            settings.reviewbot_visibility_ttl_seconds,
        ),
        templates=templates(),
    )
    app.state.dashboard = dashboard
    # Starlette's cookie is signed (itsdangerous) and always HttpOnly; it holds a session id
    # and the pending OAuth state, never the user's token.
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=COOKIE,
        max_age=SESSION_SECONDS,
        path="/dashboard",
        same_site="lax",
        https_only=settings.reviewbot_public_url.startswith("https://"),
    )
    app.add_middleware(DashboardHeaders)
    for module in (signin, api, recheck, pages):
        app.include_router(module.router)
    return dashboard
