"""``POST /webhooks/huggingface``: check the shared secret, parse with huggingface_hub, route.

A missing ``X-Webhook-Secret`` is 401 and a wrong one 403, as huggingface_hub's own webhook server
answers. The secret is accepted only in the header, never as ``?secret=`` (URLs end up in logs).
The Hub sends no delivery id, so the sha256 of the body stands in for one: a replay from the
webhook's Activity tab is the same body and is not queued twice.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

from fastapi import APIRouter, Request, Response
from huggingface_hub import WebhookPayload
from pydantic import ValidationError

from reviewbot import logs, metrics
from reviewbot.events import Outcome
from reviewbot.hub_events import hf_event_name, route_huggingface
from reviewbot.web.payload import BadPayload, parse_object
from reviewbot.web.receiver import (
    Answer,
    BadLength,
    Receiver,
    TooLarge,
    answer,
    read_body,
    route_safely,
)
from reviewbot.web.validate import decision_problem

log = logging.getLogger(__name__)
router = APIRouter()

UNVERIFIED = "unverified"


@router.post("/webhooks/huggingface")
async def huggingface_webhook(request: Request) -> Response:
    receiver: Receiver = request.app.state.receiver
    started = time.perf_counter()
    event, response = await _handle(request, receiver)
    metrics.DELIVERIES.labels("hf", event, response.outcome.value).inc()
    metrics.WEBHOOK_SECONDS.labels("hf").observe(time.perf_counter() - started)
    return response


async def _handle(request: Request, receiver: Receiver) -> tuple[str, Answer]:
    secret = receiver.settings.hf_webhook_secret
    if secret is None:
        return UNVERIFIED, answer(404, Outcome.IGNORED, "the Hugging Face Hub is not configured")
    given = request.headers.get("x-webhook-secret")
    if given is None:
        log.warning("hub delivery without X-Webhook-Secret", extra={"platform": "hf"})
        return UNVERIFIED, answer(401, Outcome.UNAUTHORIZED, "missing X-Webhook-Secret")
    if not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
        log.warning("hub delivery with a wrong secret", extra={"platform": "hf"})
        return UNVERIFIED, answer(403, Outcome.FORBIDDEN, "wrong X-Webhook-Secret")
    try:
        body = await read_body(request)
    except TooLarge:
        return UNVERIFIED, answer(413, Outcome.TOO_LARGE, "payload over 25 MB")
    except BadLength:
        return UNVERIFIED, answer(400, Outcome.BAD_REQUEST, "bad Content-Length")

    delivery = "hf-" + hashlib.sha256(body).hexdigest()[:32]
    with logs.bind(delivery=delivery, platform="hf"):
        try:
            raw = parse_object(body)
            payload = WebhookPayload.model_validate(raw)
        except BadPayload as exc:
            return UNVERIFIED, answer(400, Outcome.BAD_REQUEST, str(exc))
        except ValidationError as exc:
            fields = sorted({".".join(map(str, e["loc"])) for e in exc.errors()})
            return UNVERIFIED, answer(
                400, Outcome.BAD_REQUEST, f"not a Hub webhook payload: {', '.join(fields)[:200]}"
            )
        event = hf_event_name(payload)
        decision = route_safely(route_huggingface, payload, raw, receiver.policy)
        if decision.outcome is Outcome.BAD_REQUEST:
            return event, answer(400, decision.outcome, decision.note)
        if not decision.submissions:
            log.info("delivery ignored", extra={"event": event, "why": decision.note})
        problem = decision_problem(decision)
        if problem is not None:
            log.warning("malformed names in a hub delivery", extra={"why": problem})
            return event, answer(400, Outcome.BAD_REQUEST, problem)
        status, outcome, note = await receiver.accept(delivery, decision)
        jobs = [s.ref.display for s in decision.submissions] if outcome is Outcome.QUEUED else []
        return event, answer(status, outcome, note, delivery=delivery, jobs=jobs)
