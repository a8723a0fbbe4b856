"""Fixtures for remote scans: a loopback range server and a fake Hub, both counting bytes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import range_server
from tests.fakes.fake_hub import FakeHub, serve


@pytest.fixture
def files_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "served"
    folder.mkdir()
    return folder


@pytest.fixture
def server(files_dir: Path) -> Iterator[range_server.RangeServer]:
    with range_server.serve(files_dir) as state:
        yield state


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[FakeHub]:
    yield from serve(tmp_path / "hub")
