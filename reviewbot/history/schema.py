"""The history's tables: contributions, their append-only reviews and state changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations can name what they alter on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite keeps no zone, so it stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the history stores aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Contribution(Base):
    """One pull request or new model repository; its latest state and metadata."""

    __tablename__ = "contributions"
    __table_args__ = (UniqueConstraint("platform", "repo", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    repo: Mapped[str] = mapped_column(String(255))
    number: Mapped[int] = mapped_column(Integer)  # 0: a new model repository
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(255), default="")
    first_time: Mapped[bool] = mapped_column(Boolean, default=False)
    base_models: Mapped[list[str]] = mapped_column(JSON, default=list)
    licence: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    url: Mapped[str] = mapped_column(Text, default="")


class Review(Base):
    """One review of one head; never updated, so every verdict ever given stays."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_latest", "contribution_id", "finished_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contributions.id"))
    head_sha: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(16))  # review / recheck
    requested_by: Mapped[str | None] = mapped_column(String(255))
    verdict: Mapped[str] = mapped_column(String(8), index=True)  # pass / warn / fail / error
    # Counts by severity as columns, so charts and filters sum them in SQL.
    critical: Mapped[int] = mapped_column(Integer, default=0)
    high: Mapped[int] = mapped_column(Integer, default=0)
    medium: Mapped[int] = mapped_column(Integer, default=0)
    low: Mapped[int] = mapped_column(Integer, default=0)
    info: Mapped[int] = mapped_column(Integer, default=0)
    worst_rule: Mapped[str | None] = mapped_column(String(255))
    worst_severity: Mapped[str | None] = mapped_column(String(16))
    worst_path: Mapped[str | None] = mapped_column(Text)
    worst_message: Mapped[str | None] = mapped_column(Text)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    hub_scan: Mapped[dict[str, str] | None] = mapped_column(JSON)  # path -> the Hub's status
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    duration_seconds: Mapped[float] = mapped_column(Float)
    reviewbot_version: Mapped[str] = mapped_column(String(32))
    policy_fingerprint: Mapped[str] = mapped_column(String(64))


class StateChange(Base):
    """Opened, closed, merged, reopened: every transition, so the latest state loses nothing."""

    __tablename__ = "state_changes"
    __table_args__ = (Index("ix_state_changes_contribution", "contribution_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contributions.id"))
    state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class WaiverRow(Base):
    """One accepted finding (``reviewbot.waivers.Waiver``): who accepted which rule on which
    file content of a contribution, when and why. Kept apart from ``contributions`` (no foreign
    key): an accept needs no recorded review, and the audit trail outlives any row."""

    __tablename__ = "waivers"
    __table_args__ = (
        UniqueConstraint("platform", "repo", "number", "rule", "path", "content"),
        Index("ix_waivers_contribution", "platform", "repo", "number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    repo: Mapped[str] = mapped_column(String(255))
    number: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(255))  # check/rule
    path: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(String(64))  # the file's git blob sha (or sha256)
    accepted_by: Mapped[str] = mapped_column(String(255))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
