"""Configuration from the environment: what is required when, and how a gap is reported."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from reviewbot.config import ConfigError, Settings, load_settings
from reviewbot.models import Platform
from tests.service.web_helpers import GH_SECRET, HF_SECRET, HF_TOKEN, TEST_KEY, free_port, request

ROOT = Path(__file__).resolve().parents[2]
PREFIXES = ("GITHUB_", "HF_", "REDIS_", "REVIEWBOT_")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(PREFIXES):
            monkeypatch.delenv(key)


def set_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for key, value in values.items():
        monkeypatch.setenv(key, value)


def error_of(monkeypatch: pytest.MonkeyPatch, **values: str) -> str:
    set_env(monkeypatch, **values)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    return str(caught.value)


def test_a_complete_github_setup_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch,
        GITHUB_APP_ID="42",
        GITHUB_PRIVATE_KEY=TEST_KEY,
        GITHUB_WEBHOOK_SECRET=GH_SECRET,
        REVIEWBOT_WATCHED_MODELS=" acme/base-7b, meta-llama/Llama-3.1-8B ,,",
    )
    settings = load_settings()
    assert settings.github_enabled and not settings.hf_enabled
    assert settings.github_app_id == 42
    assert settings.github_private_key_pem() == TEST_KEY
    assert settings.reviewbot_watched_models == ("acme/base-7b", "meta-llama/Llama-3.1-8B")
    assert settings.github_api_url == "https://api.github.com"
    assert settings.hf_endpoint == "https://huggingface.co"
    assert settings.redis_url is None  # the embedded default
    settings.require_serving()
    settings.require_platform(Platform.GITHUB)
    with pytest.raises(ConfigError, match="HF_TOKEN"):
        settings.require_platform(Platform.HF)


def test_a_half_configured_github_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_of(monkeypatch, GITHUB_WEBHOOK_SECRET=GH_SECRET)
    assert "GITHUB_APP_ID" in message
    assert "GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH" in message
    assert GH_SECRET not in message


def test_a_half_configured_hub_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_of(monkeypatch, HF_TOKEN=HF_TOKEN)
    assert "HF_WEBHOOK_SECRET" in message
    assert HF_TOKEN not in message


def test_nothing_configured_cannot_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="no platform configured"):
        load_settings().require_serving()


def test_the_private_key_may_come_from_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = tmp_path / "app.pem"
    key.write_text(TEST_KEY)
    set_env(
        monkeypatch,
        GITHUB_APP_ID="42",
        GITHUB_PRIVATE_KEY_PATH=str(key),
        GITHUB_WEBHOOK_SECRET=GH_SECRET,
        GITHUB_API_URL="http://127.0.0.1:9999/api/v3/",
    )
    settings = load_settings()
    assert settings.github_private_key_pem() == TEST_KEY
    assert settings.github_api_url == "http://127.0.0.1:9999/api/v3"


def test_a_missing_key_file_or_two_keys_are_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    base = {"GITHUB_APP_ID": "42", "GITHUB_WEBHOOK_SECRET": GH_SECRET}
    message = error_of(monkeypatch, GITHUB_PRIVATE_KEY_PATH=str(tmp_path / "nope.pem"), **base)
    assert "GITHUB_PRIVATE_KEY_PATH" in message
    (tmp_path / "k.pem").write_text(TEST_KEY)
    message = error_of(
        monkeypatch,
        GITHUB_PRIVATE_KEY_PATH=str(tmp_path / "k.pem"),
        GITHUB_PRIVATE_KEY=TEST_KEY,
        **base,
    )
    assert "not both" in message


def test_a_bad_value_is_named_but_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_of(
        monkeypatch,
        GITHUB_APP_ID="s3cr3t-looking-value",
        GITHUB_PRIVATE_KEY=TEST_KEY,
        GITHUB_WEBHOOK_SECRET=GH_SECRET,
    )
    assert "GITHUB_APP_ID" in message
    assert "s3cr3t-looking-value" not in message


def test_secrets_do_not_show_in_the_settings_repr() -> None:
    settings = Settings(hf_token=SecretStr(HF_TOKEN), hf_webhook_secret=SecretStr(HF_SECRET))
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    assert HF_TOKEN not in shown
    assert HF_SECRET not in shown


def _env(**values: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    return {**clean, **values}


def test_serve_without_configuration_is_a_clear_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reviewbot", "serve"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=60,
    )
    assert result.returncode == 2
    assert "no platform configured" in result.stderr
    assert "Traceback" not in result.stderr


def test_uvicorn_with_a_half_configuration_is_a_clear_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "reviewbot.web:app", "--port", str(free_port())],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(HF_WEBHOOK_SECRET=HF_SECRET),
        timeout=60,
    )
    assert result.returncode != 0
    assert "HF_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr
    assert HF_SECRET not in result.stderr


@pytest.mark.parametrize(
    "command",
    [["-m", "reviewbot", "serve", "--port"], ["-m", "uvicorn", "reviewbot.web:app", "--port"]],
    ids=["reviewbot-serve", "procfile-uvicorn"],
)
def test_the_service_starts_and_serves(command: list[str]) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, *command, str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        env=_env(HF_TOKEN=HF_TOKEN, HF_WEBHOOK_SECRET=HF_SECRET),
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = request(f"127.0.0.1:{port}", "GET", "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        assert (answer.status, answer.body) == (200, {"status": "ok", "mode": "embedded"})
        github = request(f"127.0.0.1:{port}", "POST", "/webhooks/github", b"{}", {})
        assert github.status == 404  # GitHub is not configured here
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=10)
    assert HF_SECRET not in output.decode()
    assert HF_TOKEN not in output.decode()


def test_the_oauth_client_settings_never_enable_github(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, GITHUB_CLIENT_ID="Iv23liabc", GITHUB_CLIENT_SECRET="s3cret-client")
    settings = load_settings()
    assert not settings.github_enabled
    assert settings.github_client_id == "Iv23liabc"
    assert settings.github_client_secret == SecretStr("s3cret-client")
    assert "s3cret-client" not in repr(settings)


def test_an_inline_key_with_escaped_newlines_is_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    # what `set -a; . ./.env` leaves in the environment for GITHUB_PRIVATE_KEY="...\n..."
    set_env(
        monkeypatch,
        GITHUB_APP_ID="42",
        GITHUB_PRIVATE_KEY=TEST_KEY.replace("\n", "\\n"),
        GITHUB_WEBHOOK_SECRET=GH_SECRET,
    )
    assert load_settings().github_private_key_pem() == TEST_KEY
