"""Arguments of ``reviewbot setup``; the flow itself is imported only when the command runs."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any


def add_setup_commands(sub: Any) -> None:
    """Register ``setup github`` on the ``reviewbot`` parser."""
    setup = sub.add_parser("setup", help="create the GitHub App reviewbot runs as")
    platforms = setup.add_subparsers(dest="platform", required=True, metavar="PLATFORM")
    github = platforms.add_parser(
        "github",
        help="create the App from a manifest in the browser and write its settings to .env",
    )
    github.add_argument(
        "--webhook-url",
        required=True,
        metavar="URL",
        help="where GitHub will POST events (a bare https://HOST gets /webhooks/github)",
    )
    github.add_argument("--org", metavar="ORG", help="create the App in this organization")
    github.add_argument(
        "--env-file", type=Path, default=Path(".env"), metavar="PATH", help="(default: .env)"
    )
    github.add_argument(
        "--port", type=int, default=0, help="loopback port of the local page (default: any)"
    )
    github.add_argument("--no-browser", action="store_true", help="print the URL, open nothing")
    github.add_argument("--name", default="reviewbot", help="the App's name (editable on GitHub)")
    github.add_argument(
        "--github-url",
        default=os.environ.get("GITHUB_URL") or "https://github.com",
        metavar="URL",
        help="GitHub's web address: $GITHUB_URL, else https://github.com",
    )
    github.add_argument(
        "--api-url",
        default=os.environ.get("GITHUB_API_URL") or "https://api.github.com",
        metavar="URL",
        help="GitHub's API: $GITHUB_API_URL, else https://api.github.com (GHES: HOST/api/v3)",
    )
    github.add_argument(
        "--timeout", type=float, default=600.0, metavar="SECONDS", help="(default: 600)"
    )
    github.set_defaults(func=_cmd_setup_github)


def _cmd_setup_github(args: argparse.Namespace) -> int:
    from reviewbot.errors import UsageError
    from reviewbot.setup import SetupError
    from reviewbot.setup.github_app import Options, run

    try:
        run(
            Options(
                webhook_url=args.webhook_url,
                env_file=args.env_file,
                org=args.org,
                name=args.name,
                port=args.port,
                open_browser=not args.no_browser,
                github_url=args.github_url,
                api_url=args.api_url,
                timeout=args.timeout,
            )
        )
    except SetupError as exc:
        raise UsageError(str(exc)) from None
    return 0
