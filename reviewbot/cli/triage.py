"""`reviewbot triage`: the open contributions from the review history, riskiest first."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from reviewbot.cli.output import EXIT_OK, EXIT_USAGE
from reviewbot.errors import UsageError
from reviewbot.history.filters import SORTS as SORTS
from reviewbot.history.filters import STATES as STATES
from reviewbot.history.filters import VERDICT_CHOICES as VERDICT_CHOICES
from reviewbot.history.filters import parse_duration as parse_duration
from reviewbot.history.filters import parse_repos as parse_repos
from reviewbot.history.filters import parse_verdicts as parse_verdicts

if TYPE_CHECKING:
    from reviewbot.history.view import ContributionRow, HistoryReader, TriageQuery

# Lists the contributions the platforms hold for the repositories a query names (or, with no
# repository named, the ones the history already knows); verdict None on every row.
Refresher = Callable[["TriageQuery", Sequence[str]], list["ContributionRow"]]

FORMATS = ("table", "json", "csv")


def add_triage_command(sub: Any) -> None:
    triage = sub.add_parser(
        "triage", help="list contributions from the review history, failing and oldest first"
    )
    triage.add_argument(
        "--repo",
        action="extend",
        nargs="+",
        default=[],
        metavar="REPO",
        help="github:OWNER/REPO or hf:ORG/MODEL (repeatable; default: every repository)",
    )
    triage.add_argument(
        "--verdict",
        metavar="LIST",
        help="comma-separated: fail,error,warn,pass,none (none: not reviewed yet)",
    )
    triage.add_argument("--state", default="open", help="open (default), closed or all")
    triage.add_argument(
        "--since", metavar="DURATION", help="updated or reviewed within 30m, 12h, 7d, 2w…"
    )
    triage.add_argument("--sort", default="risk", help="risk (default), age or updated")
    triage.add_argument("--format", default="table", help="table (default), json or csv")
    triage.add_argument(
        "--refresh",
        action="store_true",
        help="also ask the platforms for open contributions not reviewed yet",
    )
    triage.add_argument("--limit", metavar="N", help="show at most N contributions")
    triage.set_defaults(func=cmd_triage)


def _choice(name: str, value: str, choices: Sequence[str]) -> Any:
    if value not in choices:
        raise UsageError(f"bad --{name} {value!r}: expected one of {', '.join(choices)}")
    return value


def _limit(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.strip().isdigit() or int(text) < 1:
        raise UsageError(f"bad --limit {text!r}: expected a whole number of at least 1")
    return int(text)


def build_query(args: argparse.Namespace, now: datetime) -> TriageQuery:
    """The command's arguments as the filters the history applies; every bad value is a
    ``UsageError`` that names it."""
    from reviewbot.history.view import TriageQuery

    _choice("format", args.format, FORMATS)
    return TriageQuery(
        repos=parse_repos(args.repo or ()),
        verdicts=parse_verdicts(args.verdict),
        state=_choice("state", args.state, STATES),
        since=now - parse_duration(args.since) if args.since else None,
        sort=_choice("sort", args.sort, SORTS),
        limit=_limit(args.limit),
    )


def run_triage(
    args: argparse.Namespace,
    reader: HistoryReader,
    *,
    refresher: Refresher | None = None,
    out: TextIO | None = None,
    now: datetime | None = None,
    tty: bool | None = None,
) -> int:
    """Query ``reader``, add what ``refresher`` lists with ``--refresh``, print in the format."""
    from reviewbot.cli import triage_output

    now = now or datetime.now(UTC)
    out = out or sys.stdout
    query = build_query(args, now)
    rows = reader.contributions(query)
    if args.refresh:
        if refresher is None:
            raise UsageError("--refresh needs platform access, which is not configured")
        rows = _with_unreviewed(rows, query, reader, refresher, now)
    if args.format == "json":
        triage_output.write_json(rows, out)
    elif args.format == "csv":
        triage_output.write_csv(rows, out)
    else:
        terminal = out.isatty() if tty is None else tty
        triage_output.write_table(rows, out, now=now, terminal=terminal)
    return EXIT_OK


def _with_unreviewed(
    rows: list[ContributionRow],
    query: TriageQuery,
    reader: HistoryReader,
    refresher: Refresher,
    now: datetime,
) -> list[ContributionRow]:
    """``rows`` plus the listed contributions the history has never seen, filtered and sorted
    as the query says, the limit applied to the whole."""
    from dataclasses import replace

    # Everything the history knows of these repositories, whatever its verdict or state: a
    # contribution filtered out above is still not "not reviewed".
    known_rows = reader.contributions(
        replace(query, verdicts=(), state="all", since=None, limit=None, offset=0)
    )
    known = {row.ref for row in known_rows}
    repos = query.repos or tuple(dict.fromkeys(f"{r.platform}:{r.repo}" for r in known_rows))
    wanted = not query.verdicts or "none" in query.verdicts
    fresh = [
        row
        for row in refresher(query, repos)
        if wanted
        and row.ref not in known
        and query.state != "closed"
        and (query.since is None or (row.updated_at or row.opened_at) >= query.since)
    ]
    merged = sort_rows([*rows, *fresh], query.sort, now)
    return merged if query.limit is None else merged[: query.limit]


def sort_rows(rows: list[ContributionRow], sort: str, now: datetime) -> list[ContributionRow]:
    """The orders the history applies, for rows merged from two sources."""
    from reviewbot.history.view import risk_key

    if sort == "risk":
        return sorted(rows, key=lambda row: risk_key(row, now))
    if sort == "age":
        return sorted(rows, key=lambda row: row.opened_at)
    return sorted(rows, key=lambda row: row.updated_at or row.opened_at, reverse=True)


def _default_reader() -> HistoryReader:
    """The SQL review history from the settings; a clear error when it is not installed."""
    from reviewbot.cli.service import _settings

    try:
        from reviewbot.history import store
    except ImportError:
        raise UsageError("the review history is not available") from None
    settings = _settings()
    try:
        reader: HistoryReader = store.open_history(settings)
    except Exception as exc:  # a missing or unreadable database: one line, not a traceback
        raise UsageError(f"the review history cannot be opened: {exc}") from None
    return reader


def cmd_triage(args: argparse.Namespace) -> int:
    build_query(args, datetime.now(UTC))  # a bad argument is reported before anything opens
    try:
        reader = _default_reader()
    except UsageError as exc:
        print(f"reviewbot: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    refresher = None
    if args.refresh:
        from reviewbot.cli.service import _settings
        from reviewbot.triage_refresh import platform_refresher

        def warn(message: str) -> None:
            print(f"reviewbot: warning: {message}", file=sys.stderr)

        refresher = platform_refresher(_settings(), warn)
    return run_triage(args, reader, refresher=refresher)
