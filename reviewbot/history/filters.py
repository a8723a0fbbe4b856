"""The triage filters as people write them (``github:o/r``, ``fail,warn``, ``7d``), parsed once
for ``reviewbot triage`` and the dashboard alike; a bad value is a ``UsageError`` naming it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from reviewbot.errors import UsageError

_REPO = re.compile(r"^(github|hf):[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_DURATION = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
VERDICT_CHOICES = ("fail", "error", "warn", "pass", "none")
STATES = ("open", "closed", "all")
SORTS = ("risk", "age", "updated")


def parse_duration(text: str) -> timedelta:
    """``30m``, ``12h``, ``7d``, ``2w`` → a positive timedelta; anything else is a usage error."""
    match = _DURATION.match(text.strip())
    if match is None or int(match[1]) == 0:
        raise UsageError(f"bad duration {text!r}: expected a number and m, h, d or w (e.g. 7d)")
    try:
        return timedelta(**{_UNITS[match[2]]: int(match[1])})
    except OverflowError:
        raise UsageError(f"duration too long: {text!r}") from None


def parse_repos(values: Sequence[str]) -> tuple[str, ...]:
    repos: list[str] = []
    for value in values:
        for part in value.split(","):
            repo = part.strip()
            if not _REPO.match(repo) or any(
                p in (".", "..") for p in repo.split(":")[1].split("/")
            ):
                raise UsageError(
                    f"bad repository {part!r}: expected github:OWNER/REPO or hf:ORG/MODEL"
                )
            repos.append(repo)
    return tuple(dict.fromkeys(repos))


def parse_verdicts(text: str | None) -> tuple[str, ...]:
    if text is None:
        return ()
    verdicts = [part.strip().lower() for part in text.split(",") if part.strip()]
    bad = [v for v in verdicts if v not in VERDICT_CHOICES]
    if bad or not verdicts:
        raise UsageError(
            f"bad verdict {', '.join(bad) or text!r}: expected any of {','.join(VERDICT_CHOICES)}"
        )
    return tuple(dict.fromkeys(verdicts))
