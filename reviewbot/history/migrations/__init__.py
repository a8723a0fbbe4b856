"""Alembic migrations of the history database, applied by ``reviewbot.history.migrate``."""
