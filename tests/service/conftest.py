"""Fixtures for the service tests: an App key pair, the fake GitHub and the fake Hub."""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis

from reviewbot.composition import ReviewInputs
from reviewbot.platforms import github as github_platform
from reviewbot.platforms.base import PlatformClient
from reviewbot.platforms.github import GitHubPlatform
from tests.fakes import fake_github
from tests.fakes.fake_github import FakeGitHub, app_key_pair

APP_ID = 123456


def commenting_on_new_models(platform: PlatformClient) -> ReviewInputs:
    """The inputs with REVIEWBOT_COMMENT_ON_NEW_MODELS on (off by default): a new fine-tune
    gets its discussion."""
    return replace(ReviewInputs.of(None, platform), comment_on_new_models=True)


@pytest.fixture(scope="session")
def app_keys() -> tuple[str, str]:
    """A fresh GitHub App key pair (private PEM, public PEM), made for this test session."""
    return app_key_pair()


@pytest.fixture(scope="session")
def github(shared_dir: Path, app_keys: tuple[str, str]) -> Iterator[FakeGitHub]:
    yield from fake_github.serve(shared_dir, APP_ID, app_keys[1])


@pytest.fixture
def gh_platform(github: FakeGitHub, app_keys: tuple[str, str]) -> Iterator[GitHubPlatform]:
    github_platform.clear_token_cache()
    yield GitHubPlatform(
        app_id=APP_ID, private_key=app_keys[0], api_url=github.base_url, max_rate_limit_wait=1.0
    )
    github_platform.clear_token_cache()


@pytest.fixture
def gh(github: FakeGitHub, app_keys: tuple[str, str]) -> Iterator[GitHubPlatform]:
    """The App's client without PyGithub's pauses between requests: a loopback fake needs none."""
    github_platform.clear_token_cache()
    yield GitHubPlatform(
        app_id=APP_ID, private_key=app_keys[0], api_url=github.base_url, paced=False
    )
    github_platform.clear_token_cache()


def hostile_checkpoint() -> bytes:
    """A torch-style zip whose data.pkl calls posix.system: assembled as bytes, never loaded."""
    command = b"echo reviewbot-test-payload"
    payload = (
        b"\x80\x02cposix\nsystem\n" + b"X" + struct.pack("<I", len(command)) + command + b"\x85R."
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("model/data.pkl", payload)
        archive.writestr("model/version", "3\n")
    return buffer.getvalue()


def benign_pickle() -> bytes:
    return pickle.dumps({"learning_rate": 2e-5, "epochs": 3}, protocol=2)


CLEAN_CARD = b"""---
license: apache-2.0
---

# A small fine-tune

Nothing to see here.
"""


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    """A client of the private Redis, emptied first: each test sees only its own queue."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()
