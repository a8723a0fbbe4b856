"""What the dashboard's handlers share, kept on the app: settings, stores, clients, templates."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment
from starlette.requests import Request

from reviewbot import dispatch
from reviewbot.config import Settings
from reviewbot.history.store import HistoryStore
from reviewbot.web.dashboard.auth import GitHubOAuth
from reviewbot.web.dashboard.session import SessionStore
from reviewbot.web.dashboard.visibility import Visibility


@dataclass
class Dashboard:
    """Everything the dashboard's handlers share."""

    settings: Settings
    history: HistoryStore
    dispatcher: dispatch.Dispatcher
    oauth: GitHubOAuth
    sessions: SessionStore
    visibility: Visibility
    templates: Environment


def of(request: Request) -> Dashboard:
    dashboard: Dashboard = request.app.state.dashboard
    return dashboard
