"""The list's query string as the triage filters (the same parsing as ``reviewbot triage``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from reviewbot.errors import UsageError
from reviewbot.history.filters import SORTS, STATES, parse_duration, parse_repos, parse_verdicts
from reviewbot.history.view import TriageQuery

PER_PAGE = 50
MAX_PER_PAGE = 500


@dataclass(frozen=True)
class ListRequest:
    """The filters, the page asked for, and the query string that names them."""

    query: TriageQuery
    page: int
    per_page: int
    params: dict[str, str]

    def link(self, **changes: object) -> str:
        """This list's query string with ``changes`` (None drops a parameter)."""
        params = dict(self.params)
        for key, value in changes.items():
            if value is None or value == "":
                params.pop(key, None)
            else:
                params[key] = str(value)
        return "?" + urlencode(params) if params else "?"


def parse_list(params: QueryParams, now: datetime, visible: frozenset[str]) -> ListRequest:
    """Every bad value is a ``UsageError`` naming it; ``visible`` bounds what can be listed."""
    # An empty field is "any": the list's own form sends ``repo=`` for "all".
    repos = parse_repos([value for value in params.getlist("repo") if value.strip()])
    verdict = params.get("verdict") or None
    state = params.get("state") or "open"
    sort = params.get("sort") or "risk"
    since = params.get("since") or None
    if state not in STATES:
        raise UsageError(f"bad state {state!r}: expected one of {', '.join(STATES)}")
    if sort not in SORTS:
        raise UsageError(f"bad sort {sort!r}: expected one of {', '.join(SORTS)}")
    page = _whole(params.get("page") or "1", "page", 1, 10**6)
    per_page = _whole(params.get("per_page") or str(PER_PAGE), "per_page", 1, MAX_PER_PAGE)
    query = TriageQuery(
        repos=repos,
        verdicts=parse_verdicts(verdict),
        state=state,  # type: ignore[arg-type]
        since=now - parse_duration(since) if since else None,
        sort=sort,  # type: ignore[arg-type]
        limit=per_page,
        offset=(page - 1) * per_page,
        visible_repos=visible,
    )
    kept = {
        "repo": ",".join(repos),
        "verdict": verdict or "",
        "state": state if state != "open" else "",
        "since": since or "",
        "sort": sort if sort != "risk" else "",
        "per_page": str(per_page) if per_page != PER_PAGE else "",
    }
    return ListRequest(query, page, per_page, {k: v for k, v in kept.items() if v})


def unpaged(request: ListRequest) -> TriageQuery:
    return replace(request.query, limit=None, offset=0)


def _whole(text: str, name: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise UsageError(f"bad {name} {text!r}: expected a whole number from {low} to {high}")
    return int(text)
