"""The history tests run against SQLite and a real PostgreSQL alike."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from reviewbot.history.engine import engine_for
from reviewbot.history.store import HistoryStore
from tests.postgres_server import PostgresServer


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    # Not under pytest's root-only temp folder: the server runs as an unprivileged user.
    workdir = Path(tempfile.mkdtemp(prefix="reviewbot-pg-"))
    server = PostgresServer(workdir)
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(f"{exc} (`make provision` installs it)")
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.sqlite3'}"
    url = str(request.getfixturevalue("postgres_url"))
    # One server for the session: each test starts from empty tables.
    with engine_for(url).begin() as connection:
        connection.execute(
            text("TRUNCATE state_changes, reviews, contributions, waivers RESTART IDENTITY")
        )
    return url


@pytest.fixture
def store(database_url: str) -> HistoryStore:
    return HistoryStore(database_url)
