"""The parser and the entry point: logging, UTF-8 streams, one exit code per outcome."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from reviewbot import __version__
from reviewbot.cli.output import EXIT_USAGE
from reviewbot.errors import UsageError


def main(argv: Sequence[str] | None = None) -> int:
    _utf8_streams()
    parser = _parser()
    args = parser.parse_args(argv)
    if args.debug or args.command != "scan":
        # `scan` logs nothing unless asked: importing logging is a noticeable part of start-up.
        _configure_logging(debug=args.debug)
    try:
        code: int = args.func(args)
    except UsageError as exc:
        print(f"reviewbot: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return code


def _utf8_streams() -> None:
    """Reports are UTF-8 whatever the locale says; the renderers already made every name visible,
    so a character that still cannot be encoded is a bug shown as an escape, never raw bytes."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)  # absent on a replaced stream
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors="backslashreplace")


def _configure_logging(*, debug: bool) -> None:
    import logging

    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="reviewbot: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reviewbot",
        description="Review contributions to open-model repositories: unsafe weight files, "
        "licences, quick evals.",
    )
    parser.add_argument("--debug", action="store_true", help="log details, tracebacks included")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from reviewbot.action import add_action_command
    from reviewbot.cli.review import add_review_commands
    from reviewbot.cli.scan import add_scan_command
    from reviewbot.cli.service import add_service_commands
    from reviewbot.cli.triage import add_triage_command
    from reviewbot.hooks import add_hook_command

    add_scan_command(sub)
    add_review_commands(sub)
    add_hook_command(sub)
    add_action_command(sub)
    add_service_commands(sub)
    add_triage_command(sub)
    return parser


if __name__ == "__main__":
    sys.exit(main())
