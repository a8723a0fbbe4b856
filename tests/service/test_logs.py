"""Registered secrets never reach stderr: not JSON-escaped, not through the CLI's root handler."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

PASSWORD = 'pa"ss\\word-é'

# What a process of the service does: the CLI's plain-text root handler, then the JSON logs.
SCRIPT = """
import logging, os
from reviewbot import logs
from reviewbot.cli.main import _configure_logging

_configure_logging(debug=True)
logs.configure("DEBUG")
key, password = os.environ["TEST_PEM"], os.environ["TEST_PASSWORD"]
logs.register_secret(key)
logs.register_secret(password)
log = logging.getLogger("reviewbot.test")
log.warning("the key %s and the password %s", key, password)
log.info("fields", extra={"detail": {"key": key, "password": [password]}})
try:
    raise ValueError(password)
except ValueError:
    log.exception("failed with %r", key)
"""


def test_secrets_with_escaped_characters_are_redacted(app_keys: tuple[str, str]) -> None:
    key = app_keys[0]
    env = {**os.environ, "TEST_PEM": key, "TEST_PASSWORD": PASSWORD, "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    err = result.stderr
    lines = [json.loads(line) for line in err.splitlines()]  # JSON lines only: no plain copies
    assert [line["level"] for line in lines] == ["warning", "info", "error"]
    assert "**********" in lines[0]["msg"]
    body = [line for line in key.splitlines() if line and not line.startswith("-----")]
    for fragment in body:
        assert fragment not in err
    for form in (PASSWORD, json.dumps(PASSWORD)[1:-1], json.dumps(PASSWORD, ensure_ascii=False)):
        assert form.strip('"') not in err
    assert "ss\\word" not in err and 'pa"ss' not in err and 'pa\\"ss' not in err
