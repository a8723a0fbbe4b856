"""Service commands of the CLI: ``serve`` runs the web receiver, ``recheck`` re-reviews one PR."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from reviewbot.errors import UsageError

if TYPE_CHECKING:
    from reviewbot.models import ContributionRef

TARGET_HELP = "github:OWNER/REPO#N or hf:ORG/MODEL#N"


def add_service_commands(sub: Any) -> None:
    """Register subcommands on the `reviewbot` parser; imports stay inside each command."""
    serve = sub.add_parser(
        "serve",
        help="run the webhook receiver (reviews in-process without REDIS_URL, queued with it)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    serve.set_defaults(func=_cmd_serve)

    recheck = sub.add_parser(
        "recheck", help="review a pull request again: queued with REDIS_URL, else run here"
    )
    recheck.add_argument("target", metavar="TARGET", help=TARGET_HELP)
    recheck.add_argument(
        "--inline", action="store_true", help="run the review in this process, not on the queue"
    )
    recheck.set_defaults(func=_cmd_recheck)

    from reviewbot.setup.cli import add_setup_commands

    add_setup_commands(sub)  # arguments only: the setup flow loads when the command runs


def parse_target(text: str) -> ContributionRef:
    """``github:OWNER/REPO#N`` / ``hf:ORG/MODEL#N`` → a ref with no head sha (review the head)."""
    from reviewbot.models import ContributionRef

    try:
        ref = ContributionRef.parse(text)
    except ValueError:
        ref = None
    if ref is None or ref.number < 1 or ref.head_sha is not None or "@" in text:
        raise UsageError(f"bad target {text!r}: expected {TARGET_HELP}")
    return ref


def _settings() -> Any:
    from reviewbot.config import ConfigError, load_settings

    try:
        return load_settings()
    except ConfigError as exc:
        raise UsageError(f"configuration: {exc}") from None


def _cmd_serve(args: argparse.Namespace) -> int:
    from reviewbot.config import ConfigError

    settings = _settings()
    try:
        settings.require_serving()
    except ConfigError as exc:
        raise UsageError(f"configuration: {exc}") from None

    import uvicorn

    from reviewbot import logs
    from reviewbot.web import create_app
    from reviewbot.web.server import uvicorn_config

    logs.configure(settings.reviewbot_log_level)
    config = uvicorn_config(create_app(settings), settings, host=args.host, port=args.port)
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1  # e.g. the port is taken: uvicorn has said so


def _cmd_recheck(args: argparse.Namespace) -> int:
    from reviewbot.config import ConfigError

    ref = parse_target(args.target)
    settings = _settings()
    try:
        settings.require_platform(ref.platform)
    except ConfigError as exc:
        raise UsageError(f"configuration: {exc}") from None

    from reviewbot import logs

    logs.configure(settings.reviewbot_log_level)
    # The operator holds the credentials, so no requester permission check applies
    # (requested_by=None). Without a queue there is nothing to enqueue on: review right here.
    if args.inline or not settings.redis_url:
        from reviewbot.errors import PlatformError
        from reviewbot.service import review_contribution

        try:
            result = review_contribution(ref, reason="recheck", requested_by=None)
        except ConfigError as exc:
            raise UsageError(f"configuration: {exc}") from None
        except PlatformError as exc:
            print(f"reviewbot: error: {ref.display}: {exc}", file=sys.stderr)
            return 1
        status = getattr(result, "status", "done")
        verdict = getattr(result, "verdict", None)
        print(f"{ref.display}: {status}" + (f" ({verdict})" if verdict else ""))
        return 1 if status == "error" else 0

    from reviewbot import dispatch

    dispatch.configure(redis_url=settings.redis_url)
    try:
        dispatch.submit(ref, reason="recheck", requested_by=None)
    except dispatch.DispatchError as exc:
        print(f"reviewbot: error: {exc}", file=sys.stderr)
        return 1
    finally:
        dispatch.shutdown(wait=True)
    print(f"{ref.display}: queued on 'reviews'")
    return 0
