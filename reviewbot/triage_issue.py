"""The dashboard issue's body: open contributions by verdict with recheck boxes, and its ticks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reviewbot.markers import DASHBOARD_MARKER
from reviewbot.render.escape import code, md

if TYPE_CHECKING:
    from reviewbot.history.view import ContributionRow

BODY_LIMIT = 65_000  # GitHub refuses issue bodies over 65,536 characters
# A box is only a box at the start of its own line, exactly as rendered: a contributor's title
# is escaped and on the same line after it, so it can neither forge nor hide one.
_BOX = re.compile(r"^- \[([ xX])\] <!-- recheck:(\d{1,9}) --> recheck\b", re.MULTILINE)
_SECTIONS = (
    ("fail", "Failing"),
    ("error", "Could not be reviewed"),
    ("warn", "Warnings"),
    (None, "Not reviewed yet"),
    ("pass", "Passing"),
)
_SAFE_URL = re.compile(r"^https?://[^\s()<>\[\]]+$")


def render_dashboard(repo: str, rows: Sequence[ContributionRow]) -> str:
    """The whole body, every box unticked: a tick is a request, answered by the next rewrite."""
    lines = [
        DASHBOARD_MARKER,
        f"Open pull requests of {code(repo)} by their latest reviewbot verdict. Tick a box to "
        "have reviewbot review that pull request again (as `/reviewbot recheck` would; "
        "collaborators with write access only).",
        "",
    ]
    budget = BODY_LIMIT - sum(len(line) + 1 for line in lines) - 200
    left_out = 0
    for verdict, heading in _SECTIONS:
        group = [row for row in rows if row.verdict == verdict and row.number > 0]
        if not group:
            continue
        lines += [f"## {heading} ({len(group)})", ""]
        for row in group:
            line = _line(row)
            if len(line) + 1 > budget:
                left_out += 1
                continue
            budget -= len(line) + 1
            lines.append(line)
        lines.append("")
    if len(lines) == 3:
        lines += ["No open pull requests.", ""]
    if left_out:
        lines += [f"…and {left_out} more that do not fit in one issue (`reviewbot triage`).", ""]
    return "\n".join(lines)


def _line(row: ContributionRow) -> str:
    title = f"#{row.number} {md(row.title, 120)}"
    link = f"[{title}]({row.url})" if _SAFE_URL.match(row.url) else title
    by = f" by {md(row.author, 60)}" + (" (first-time contributor)" if row.first_time else "")
    worst = f" — {row.worst.severity}: {code(row.worst.rule, 80)}" if row.worst else ""
    return f"- [ ] <!-- recheck:{row.number} --> recheck {link}{by}{worst}"


def ticked(body: str) -> set[int]:
    """The pull-request numbers whose recheck box is ticked in ``body``."""
    return {int(m[2]) for m in _BOX.finditer(body.replace("\r\n", "\n")) if m[1] in "xX"}


def newly_ticked(body: str, previous: str) -> list[int]:
    """Boxes ticked in ``body`` that were not ticked in ``previous``, in ascending order."""
    return sorted(ticked(body) - ticked(previous))
