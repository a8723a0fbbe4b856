"""The waivers' audit trail in the history database: who accepted which finding, when, why."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from reviewbot.history.engine import engine_for
from reviewbot.history.schema import WaiverRow
from reviewbot.waivers import Waiver, WaiverStoreError


class SqlWaivers:
    """``reviewbot.waivers.WaiverStore`` on the database at ``url`` (migrated on first use)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = engine_for(url)

    def add(self, platform: str, repo: str, number: int, waivers: Sequence[Waiver]) -> int:
        try:
            return self._add(platform, repo, number, waivers)
        except SQLAlchemyError as exc:
            raise WaiverStoreError(f"waivers not recorded: {type(exc).__name__}") from exc

    def of(self, platform: str, repo: str, number: int) -> list[Waiver]:
        try:
            return self._of(platform, repo, number)
        except SQLAlchemyError as exc:
            raise WaiverStoreError(f"waivers not read: {type(exc).__name__}") from exc

    def _add(self, platform: str, repo: str, number: int, waivers: Sequence[Waiver]) -> int:
        new = 0
        with Session(self.engine) as session, session.begin():
            for waiver in waivers:
                if _exists(session, platform, repo, number, waiver):
                    continue
                try:
                    with session.begin_nested():  # a concurrent job may insert the same one
                        session.add(_row(platform, repo, number, waiver))
                        session.flush()
                    new += 1
                except IntegrityError:
                    continue
        return new

    def _of(self, platform: str, repo: str, number: int) -> list[Waiver]:
        stmt = (
            select(WaiverRow)
            .where(
                WaiverRow.platform == platform,
                WaiverRow.repo == repo,
                WaiverRow.number == number,
            )
            .order_by(WaiverRow.accepted_at, WaiverRow.id)
        )
        with Session(self.engine) as session:
            return [_waiver(row) for row in session.scalars(stmt)]


def _exists(session: Session, platform: str, repo: str, number: int, waiver: Waiver) -> bool:
    stmt = select(WaiverRow.id).where(
        WaiverRow.platform == platform,
        WaiverRow.repo == repo,
        WaiverRow.number == number,
        WaiverRow.rule == waiver.rule,
        WaiverRow.path == waiver.path,
        WaiverRow.content == waiver.content,
    )
    return session.scalar(stmt) is not None


def _row(platform: str, repo: str, number: int, w: Waiver) -> WaiverRow:
    return WaiverRow(
        platform=platform, repo=repo, number=number, rule=w.rule, path=w.path, content=w.content,
        accepted_by=w.accepted_by, accepted_at=w.accepted_at, reason=w.reason,
    )  # fmt: skip


def _waiver(row: WaiverRow) -> Waiver:
    return Waiver(row.rule, row.path, row.content, row.accepted_by, row.accepted_at, row.reason)
