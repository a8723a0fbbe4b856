"""The uvicorn configuration the receiver runs under: deadlines, limits, no forged proxies."""

from __future__ import annotations

from typing import Any

import uvicorn

from reviewbot.config import Settings
from reviewbot.web.protocol import deadline_protocol

# h11's own cap on one request's header block; past it h11 answers 400 (uvicorn's default too,
# spelled out because it is what bounds a header sender's memory).
MAX_HEADER_BYTES = 16 * 1024


def uvicorn_config(app: Any, settings: Settings, *, host: str, port: int, **extra: Any) -> Any:
    """A ``uvicorn.Config`` for ``app`` with the header/body deadlines from ``settings``."""
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "http": deadline_protocol(
            header_timeout=settings.reviewbot_header_timeout_seconds,
            body_timeout=settings.reviewbot_body_timeout_seconds,
        ),
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "log_level": settings.reviewbot_log_level.lower(),
        "proxy_headers": False,  # no proxy is assumed; X-Forwarded-* would be anyone's to forge
        "server_header": False,
        "lifespan": "on",
    }
    options.update(extra)
    return uvicorn.Config(app, **options)
