"""Triage rows as JSON, CSV, a coloured table on a terminal, or plain columns in a pipe."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from reviewbot.render.visible import visible

if TYPE_CHECKING:
    from reviewbot.history.view import ContributionRow

CSV_COLUMNS = (
    "platform",
    "repo",
    "number",
    "title",
    "author",
    "first_time",
    "url",
    "state",
    "head_sha",
    "verdict",
    "worst_rule",
    "worst_severity",
    "worst_path",
    "worst_message",
    "critical",
    "high",
    "medium",
    "low",
    "info",
    "base_models",
    "licence",
    "size_bytes",
    "opened_at",
    "updated_at",
    "reviewed_at",
)
TABLE_COLUMNS = ("VERDICT", "CONTRIBUTION", "TITLE", "AUTHOR", "AGE", "WAITING", "WORST")
NOT_REVIEWED = "not reviewed"
FIRST_TIME = "(first-time)"
_STYLES = {"fail": "bold red", "error": "magenta", "warn": "yellow", "pass": "green"}
# Titles, names and messages come from contributors: a control character (an ANSI escape
# above all) must never reach the terminal as itself.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TITLE_WIDTH = 60


def write_json(rows: Sequence[ContributionRow], out: TextIO) -> None:
    out.write(json.dumps({"contributions": [row.to_json() for row in rows]}, indent=2) + "\n")


def write_csv(rows: Sequence[ContributionRow], out: TextIO) -> None:
    """A header, then one line per contribution, its worst finding and counts flattened."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        data = row.to_json()
        worst = data.pop("worst") or {}
        counts = data.pop("counts")
        data["base_models"] = ";".join(data["base_models"])
        flat = {**data, **{f"worst_{k}": v for k, v in worst.items()}, **counts}
        writer.writerow([_csv_cell(flat.get(column)) for column in CSV_COLUMNS])


def write_table(
    rows: Sequence[ContributionRow], out: TextIO, *, now: datetime, terminal: bool
) -> None:
    cells = [_table_row(row, now) for row in rows]
    if terminal:
        _rich_table(rows, cells, out)
        return
    widths = [max(len(line[i]) for line in [TABLE_COLUMNS, *cells]) for i in range(7)]
    for line in [TABLE_COLUMNS, *cells]:
        out.write("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() + "\n")


def humanise(delta_seconds: float) -> str:
    """A duration as the one or two units a person reads at a glance: 45m, 5h, 3d, 6w."""
    minutes = max(0, int(delta_seconds // 60))
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    return f"{days}d" if days < 14 else f"{days // 7}w"


def clean(text: str) -> str:
    """Contributor text made safe to print: control characters shown as escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", visible(text))


def _table_row(row: ContributionRow, now: datetime) -> tuple[str, ...]:
    title = clean(row.title)
    if len(title) > _TITLE_WIDTH:
        title = title[: _TITLE_WIDTH - 1] + "…"
    author = clean(row.author) + (f" {FIRST_TIME}" if row.first_time else "")
    worst = f"{row.worst.severity} {clean(row.worst.rule)}" if row.worst else ""
    return (
        row.verdict or NOT_REVIEWED,
        row.ref,
        title,
        author,
        humanise((now - row.opened_at).total_seconds()),
        humanise((now - (row.updated_at or row.opened_at)).total_seconds()),
        worst,
    )


def _rich_table(
    rows: Sequence[ContributionRow], cells: Sequence[tuple[str, ...]], out: TextIO
) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(header_style="bold")
    for name in TABLE_COLUMNS:
        # On a narrow terminal the title gives way first; the reference is never cut.
        title = name == "TITLE"
        table.add_column(
            name, no_wrap=True, overflow="ellipsis" if title else "fold", ratio=1 if title else None
        )
    for row, line in zip(rows, cells, strict=True):
        # Text, never markup: a title like "[red]" is shown as written.
        verdict = Text(line[0], style=_STYLES.get(row.verdict or "", "dim"))
        author = Text(line[3], style="cyan" if row.first_time else "")
        table.add_row(verdict, Text(line[1]), Text(line[2]), author, *map(Text, line[4:]))
    Console(file=out, force_terminal=True, highlight=False).print(table)


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = visible(str(value))
    return "'" + text if text.startswith(_FORMULA_START) else text
