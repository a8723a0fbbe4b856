"""The dashboard's settings from the environment: all or nothing, the Hub viewers as JSON."""

from __future__ import annotations

import os

import pytest

from reviewbot.config import ConfigError, load_settings

SIGN_IN = {
    "GITHUB_CLIENT_ID": "Iv1.abc",
    "GITHUB_CLIENT_SECRET": "client-secret-value",
    "REVIEWBOT_SESSION_SECRET": "s" * 40,
    "REVIEWBOT_PUBLIC_URL": "https://bot.example.org/",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("GITHUB_", "HF_", "REDIS_", "REVIEWBOT_")):
            monkeypatch.delenv(key)


def test_the_dashboard_is_on_with_all_four_sign_in_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in SIGN_IN.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("REVIEWBOT_HUB_VIEWERS", '{"org/*": ["alice"], "lab/m": ["bob"]}')
    settings = load_settings()
    assert settings.dashboard_enabled
    assert settings.reviewbot_public_url == "https://bot.example.org"
    assert settings.github_web_url == "https://github.com"
    assert settings.reviewbot_hub_viewers == {"org/*": ["alice"], "lab/m": ["bob"]}


def test_without_sign_in_settings_there_is_no_dashboard(monkeypatch: pytest.MonkeyPatch) -> None:
    # `reviewbot setup github` always wrote the client id and secret: alone they change nothing
    monkeypatch.setenv("GITHUB_CLIENT_ID", "Iv1.abc")
    monkeypatch.setenv("GITHUB_CLIENT_SECRET", "client-secret-value")
    assert not load_settings().dashboard_enabled


@pytest.mark.parametrize("missing", sorted(SIGN_IN))
def test_a_half_configured_dashboard_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    for key, value in SIGN_IN.items():
        if key != missing:
            monkeypatch.setenv(key, value)
    if missing in ("REVIEWBOT_SESSION_SECRET", "REVIEWBOT_PUBLIC_URL"):
        other = ({"REVIEWBOT_SESSION_SECRET", "REVIEWBOT_PUBLIC_URL"} - {missing}).pop()
        assert os.environ[other]  # the other one still asks for the dashboard
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert missing in str(caught.value)
    assert "client-secret-value" not in str(caught.value)


def test_a_short_session_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {**SIGN_IN, "REVIEWBOT_SESSION_SECRET": "short"}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "at least 32" in str(caught.value) and "short" not in str(caught.value).split(":")[0]
