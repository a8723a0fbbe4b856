"""An in-memory history reader: the triage filters and sorts over a list of rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from reviewbot.history.view import ContributionRow, TriageQuery, risk_key


@dataclass
class MemoryHistory:
    """Rows held in a list; ``contributions`` applies a ``TriageQuery`` as the SQL store does."""

    rows: list[ContributionRow] = field(default_factory=list)
    now: datetime | None = None

    def add(self, rows: Iterable[ContributionRow]) -> None:
        self.rows.extend(rows)

    def count(self, query: TriageQuery) -> int:
        return len(self._matching(query))

    def contributions(self, query: TriageQuery) -> list[ContributionRow]:
        rows = self._matching(query)
        now = self.now or datetime.now(UTC)
        if query.sort == "risk":
            rows.sort(key=lambda row: risk_key(row, now))
        elif query.sort == "age":
            rows.sort(key=lambda row: row.opened_at)
        else:
            rows.sort(key=lambda row: row.updated_at or row.opened_at, reverse=True)
        end = None if query.limit is None else query.offset + query.limit
        return rows[query.offset : end]

    def _matching(self, query: TriageQuery) -> list[ContributionRow]:
        def keep(row: ContributionRow) -> bool:
            repo = f"{row.platform}:{row.repo}"
            if query.repos and repo not in query.repos:
                return False
            if query.visible_repos is not None and repo not in query.visible_repos:
                return False
            if query.verdicts and (row.verdict or "none") not in query.verdicts:
                return False
            if query.state == "open" and row.state != "open":
                return False
            if query.state == "closed" and row.state == "open":
                return False
            moment = row.reviewed_at or row.updated_at or row.opened_at
            return query.since is None or moment >= query.since

        return [row for row in self.rows if keep(row)]
