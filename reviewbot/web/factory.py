"""Build the FastAPI app from the settings: receiver state, routes, lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import redis
from fastapi import FastAPI

from reviewbot import composition, dispatch, logs
from reviewbot.config import Settings
from reviewbot.dedup import DeliveryLedger, MemoryLedger, RedisLedger
from reviewbot.events import RoutingPolicy
from reviewbot.history.recorder import Recorder
from reviewbot.web import github, health, huggingface, logfilter, metrics
from reviewbot.web.limits import BodyLimits
from reviewbot.web.receiver import Receiver

if TYPE_CHECKING:
    from reviewbot.history.store import HistoryStore

log = logging.getLogger(__name__)
HISTORY_FLUSH_SECONDS = 10.0


def create_app(
    settings: Settings,
    *,
    dispatcher: dispatch.Dispatcher | None = None,
    ledger: DeliveryLedger | None = None,
    recorder: Recorder | None = None,
    history: HistoryStore | None = None,
) -> FastAPI:
    """Build the receiver. Without ``dispatcher``/``ledger`` they follow ``settings.redis_url``;
    without ``recorder``, state changes go to the settings' history (``REVIEWBOT_HISTORY``).

    Body bounds apply under any ASGI server; the header deadline needs ``reviewbot serve`` (or
    ``reviewbot.web.server.uvicorn_config``), which runs uvicorn with ``DeadlineH11Protocol``.
    With the sign-in settings (``settings.dashboard_enabled``) the app also serves
    ``/dashboard`` over ``history`` (default: the store ``open_history(settings)`` names).
    """
    logfilter.install()
    for secret in (settings.github_webhook_secret, settings.hf_webhook_secret, settings.hf_token):
        if secret is not None:
            logs.register_secret(secret.get_secret_value())
    client = (
        redis.Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=2)
        if settings.redis_url
        else None
    )
    owned = dispatcher is None
    if dispatcher is None:
        dispatcher = dispatch.configure(
            redis_url=settings.redis_url,
            workers=settings.reviewbot_workers,
            max_pending=settings.reviewbot_max_pending,
        )
    if ledger is None:
        ttl = settings.reviewbot_dedup_ttl_seconds
        ledger = RedisLedger(client, ttl) if client is not None else MemoryLedger(ttl)
    policy = RoutingPolicy(
        recheck_command=settings.reviewbot_recheck_command,
        fix_command=settings.reviewbot_fix_command,
        review_drafts=settings.reviewbot_review_drafts,
        bot_login=settings.reviewbot_bot_login,
        app_id=settings.github_app_id,
        watched_models=settings.reviewbot_watched_models,
    )
    if recorder is None:
        recorder = composition.history_recorder(settings)
    receiver = Receiver(settings, policy, ledger, dispatcher, client, recorder=recorder)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.info(
            "reviewbot receiver ready",
            extra={
                "mode": receiver.dispatcher.mode,
                "github": settings.github_enabled,
                "huggingface": settings.hf_enabled,
            },
        )
        yield
        receiver.close()
        recorder.flush(HISTORY_FLUSH_SECONDS)  # what the deliveries changed, before exit
        if owned:
            # Embedded jobs already accepted finish before the process exits.
            dispatch.shutdown(wait=True)
        if client is not None:
            client.close()

    app = FastAPI(
        title="reviewbot",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.receiver = receiver
    app.add_middleware(
        BodyLimits,
        max_bytes=settings.reviewbot_max_body_bytes,
        budget_bytes=settings.reviewbot_body_budget_bytes,
        timeout=settings.reviewbot_body_timeout_seconds,
    )
    for module in (github, huggingface, health, metrics):
        app.include_router(module.router)
    if settings.dashboard_enabled:
        from reviewbot.history.store import open_history
        from reviewbot.web.dashboard.app import install

        install(app, settings, dispatcher, history or open_history(settings))
    return app
