"""``GET /healthz``: 200 when the receiver can accept work; 503 when its Redis does not answer."""

from __future__ import annotations

from typing import Any

import redis
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from reviewbot.web.receiver import Receiver

router = APIRouter()


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    receiver: Receiver = request.app.state.receiver
    body: dict[str, Any] = {"status": "ok", "mode": receiver.dispatcher.mode}
    if receiver.redis is None:
        return JSONResponse(body)
    try:
        await run_in_threadpool(receiver.redis.ping)
    except redis.RedisError:
        body.update(status="unavailable", redis="down")
        return JSONResponse(body, status_code=503)
    body["redis"] = "ok"
    return JSONResponse(body)
