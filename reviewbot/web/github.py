"""``POST /webhooks/github``: verify the signature, parse, route; answer in milliseconds."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

from fastapi import APIRouter, Request, Response

from reviewbot import logs, metrics
from reviewbot.events import Outcome, route_github
from reviewbot.web.payload import BadPayload, parse_object
from reviewbot.web.receiver import (
    Answer,
    BadLength,
    Receiver,
    TooLarge,
    answer,
    read_body,
    route_safely,
    safe_id,
)
from reviewbot.web.validate import decision_problem

log = logging.getLogger(__name__)
router = APIRouter()

UNVERIFIED = "unverified"  # event label before the signature holds: the header is anyone's


def signature_valid(secret: bytes, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``, in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


@router.post("/webhooks/github")
async def github_webhook(request: Request) -> Response:
    receiver: Receiver = request.app.state.receiver
    started = time.perf_counter()
    delivery = safe_id(request.headers.get("x-github-delivery"))
    with logs.bind(delivery=delivery or None, platform="github"):
        event, response = await _handle(request, receiver, delivery)
    metrics.DELIVERIES.labels("github", event, response.outcome.value).inc()
    metrics.WEBHOOK_SECONDS.labels("github").observe(time.perf_counter() - started)
    return response


async def _handle(request: Request, receiver: Receiver, delivery: str) -> tuple[str, Answer]:
    secret = receiver.settings.github_webhook_secret
    if secret is None:
        return UNVERIFIED, answer(404, Outcome.IGNORED, "GitHub is not configured")
    try:
        body = await read_body(request)
    except TooLarge:
        log.warning("delivery over the size cap refused")
        return UNVERIFIED, answer(413, Outcome.TOO_LARGE, "payload over 25 MB")
    except BadLength:
        return UNVERIFIED, answer(400, Outcome.BAD_REQUEST, "bad Content-Length")
    header = request.headers.get("x-hub-signature-256")
    if not signature_valid(secret.get_secret_value().encode(), body, header):
        log.warning("signature missing or wrong", extra={"signed": header is not None})
        return UNVERIFIED, answer(401, Outcome.UNAUTHORIZED, "bad or missing X-Hub-Signature-256")

    event = safe_id(request.headers.get("x-github-event"))
    if not event or not delivery:
        return UNVERIFIED, answer(
            400, Outcome.BAD_REQUEST, "missing X-GitHub-Event or X-GitHub-Delivery"
        )
    try:
        payload = parse_object(body)
    except BadPayload as exc:
        log.warning("signed delivery is not a JSON object", extra={"why": str(exc)})
        return event, answer(400, Outcome.BAD_REQUEST, str(exc))

    decision = route_safely(route_github, event, payload, receiver.policy)
    if decision.outcome is Outcome.PING:
        log.info("ping", extra={"hook_id": payload.get("hook_id")})
        return event, answer(200, Outcome.PING, "pong")
    if decision.outcome is Outcome.LOGGED:
        account = (payload.get("installation") or {}).get("account") or {}
        log.info(
            "installation event",
            extra={"event": decision.note, "account": account.get("login")},
        )
    elif decision.outcome is Outcome.BAD_REQUEST:
        log.warning("unexpected payload", extra={"event": event, "detail": decision.note})
        return event, answer(400, decision.outcome, decision.note)
    elif not decision.submissions:
        log.info("delivery ignored", extra={"event": event, "why": decision.note})
    problem = decision_problem(decision)
    if problem is not None:
        log.warning("malformed names in a signed delivery", extra={"why": problem})
        return event, answer(400, Outcome.BAD_REQUEST, problem)

    status, outcome, note = await receiver.accept(f"github:{delivery}", decision)
    jobs = [s.ref.display for s in decision.submissions] if outcome is Outcome.QUEUED else []
    return event, answer(status, outcome, note, delivery=delivery, jobs=jobs)
