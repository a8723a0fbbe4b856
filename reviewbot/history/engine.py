"""One engine per database URL, migrated once per process; SQLite in WAL mode."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

from reviewbot.history.migrate import upgrade

log = logging.getLogger(__name__)
SQLITE_BUSY_MS = 5000


def default_url() -> str:
    """SQLite in the user's data folder (created if missing)."""
    folder = Path(platformdirs.user_data_dir("reviewbot"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'history.sqlite3'}"


def safe_url(url: str) -> str:
    """The URL as it may be logged: any password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL may still hold a secret: show none of it
        return "(unparsable database URL)"


@functools.lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """The process's engine for ``url``, its schema brought to the newest revision."""
    parsed = make_url(url)
    options: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        options["connect_args"] = {"timeout": SQLITE_BUSY_MS / 1000}
    elif parsed.get_backend_name() == "postgresql":
        options["connect_args"] = {"timeout": 5}  # pg8000: seconds for connect and each read
    engine = create_engine(parsed, **options)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    upgrade(engine)
    log.info("history database ready", extra={"database": safe_url(url)})
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL: readers (the dashboard) never block the writer; busy_timeout: writers wait in turn.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
