"""Alembic's entry point: migrates the connection ``reviewbot.history.migrate`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from reviewbot.history.schema import Base

# Any number fits, as long as it is always the same: it serialises concurrent upgrades.
_PG_LOCK = 0x72657669


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two workers starting together must not both create the tables.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through reviewbot.history.migrate, which passes a connection"
    )
_run(connection)
