"""The web receiver: ``reviewbot.web:app`` for uvicorn, or ``create_app(settings)`` in code."""

from __future__ import annotations

import sys
from typing import Any

from reviewbot.config import ConfigError
from reviewbot.web.factory import create_app

__all__ = ["create_app"]

_app: Any = None


def __getattr__(name: str) -> Any:
    # ``app`` is built on first access rather than at import, so importing the package (tests,
    # type checkers) never reads the environment; uvicorn's ``reviewbot.web:app`` still works.
    global _app
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _app is None:
        from reviewbot import logs
        from reviewbot.config import load_settings

        try:
            settings = load_settings()
            settings.require_serving()
        except ConfigError as exc:
            print(f"reviewbot: configuration error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        logs.configure(settings.reviewbot_log_level)
        _app = create_app(settings)
    return _app
