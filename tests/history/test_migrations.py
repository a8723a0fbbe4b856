"""The migrations build the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from reviewbot.history.migrate import alembic_config, upgrade
from reviewbot.history.schema import Base


def test_an_empty_database_migrates_to_head_and_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        upgrade(engine)
        upgrade(engine)  # a second start-up finds nothing to do
        tables = set(inspect(engine).get_table_names())
        assert {"contributions", "reviews", "state_changes", "waivers", "alembic_version"} <= tables
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert context.get_current_revision() == head
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
