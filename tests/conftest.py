"""Shared test fixtures: where the shared corpus lives."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import RedisServer

# Nothing in the suite may reach the real Hub: a call that forgets its fake fails fast, locally.
os.environ.setdefault("HF_ENDPOINT", "http://127.0.0.1:9")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# A cache of its own per run: nothing leaks in from, or out to, the user's Hugging Face cache.
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="reviewbot-tests-hf-")
# The review history: off unless a test turns it on with a database of its own, and its default
# SQLite (the user's data folder) in a folder of this run's, so no test writes to the user's.
os.environ["REVIEWBOT_HISTORY"] = "false"
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="reviewbot-tests-data-")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(
            "the shared corpus is missing: it must sit beside the project root as ../shared"
        )
    return SHARED


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server on a free loopback port, for this test session only."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(f"{exc} (`make test` provisions it)")
    try:
        yield server.url
    finally:
        server.stop()
