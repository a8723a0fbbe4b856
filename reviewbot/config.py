"""Service settings, read once from the environment; a missing required setting names itself.

Which settings are required depends on which platform is enabled:

* GitHub is enabled as soon as any of ``GITHUB_APP_ID``, ``GITHUB_PRIVATE_KEY``,
  ``GITHUB_PRIVATE_KEY_PATH`` or ``GITHUB_WEBHOOK_SECRET`` is set; it then needs all of
  ``GITHUB_APP_ID``, ``GITHUB_WEBHOOK_SECRET`` and exactly one of ``GITHUB_PRIVATE_KEY`` /
  ``GITHUB_PRIVATE_KEY_PATH``.
* The Hugging Face Hub is enabled as soon as ``HF_TOKEN`` or ``HF_WEBHOOK_SECRET`` is set; it then
  needs both.
* ``reviewbot serve`` needs at least one enabled platform; ``reviewbot recheck`` needs the target's.

Endpoints (``GITHUB_API_URL``, ``HF_ENDPOINT``) have defaults and never enable a platform, so a
half-configured platform is an error rather than a platform silently switched off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from reviewbot.errors import ConfigError as ConfigError
from reviewbot.models import Platform

MAX_WEBHOOK_BYTES = 25 * 1024 * 1024  # GitHub never delivers a larger payload


class Settings(BaseSettings):
    """Every setting the service reads; field ``x_y`` is the environment variable ``X_Y``."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    github_app_id: int | None = None
    github_private_key: SecretStr | None = None
    github_private_key_path: Path | None = None
    github_webhook_secret: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    # Written by `reviewbot setup github` for the App's OAuth side; the service needs neither, so
    # they never enable GitHub on their own.
    github_client_id: str | None = None
    github_client_secret: SecretStr | None = None
    # Where people sign in (the OAuth authorize page): github.com, or a GitHub Enterprise host.
    github_web_url: str = "https://github.com"

    # The maintainer dashboard (/dashboard) is served when these and the client id/secret are
    # all set. The secret signs the session cookie; the public URL is where GitHub sends people
    # back after signing in (``{PUBLIC_URL}/dashboard/oauth/callback``).
    reviewbot_session_secret: SecretStr | None = None
    reviewbot_public_url: str | None = None
    # Hub repositories have no per-user visibility lookup: {"org/model": ["login", ...]} or
    # {"org/*": [...]} names the GitHub logins that see a Hub repository's rows.
    reviewbot_hub_viewers: dict[str, list[str]] = Field(default_factory=dict)
    # How long a signed-in user's list of visible repositories is trusted before GitHub is
    # asked again.
    reviewbot_visibility_ttl_seconds: float = Field(default=60.0, ge=0)

    hf_token: SecretStr | None = None
    hf_webhook_secret: SecretStr | None = None
    hf_endpoint: str = "https://huggingface.co"

    # Optional: without it reviews run in-process (the embedded default). It may carry a password,
    # so it is never logged or echoed.
    redis_url: str | None = None
    # The review history (SQLAlchemy URL; PostgreSQL as postgresql+pg8000://...). None: SQLite
    # in the user's data folder. It may carry a password, so it is logged masked only.
    reviewbot_database_url: str | None = None
    # Record every review and state change there (off the review's path); false: keep nothing.
    reviewbot_history: bool = True

    # Hub ids whose fine-tunes are reviewed when they appear as new model repositories.
    reviewbot_watched_models: Annotated[tuple[str, ...], NoDecode] = ()
    # The App's own login ("name[bot]"); every bot is ignored anyway, this catches a renamed self.
    reviewbot_bot_login: str | None = None
    # Draft pull requests are reviewed when marked ready, not on every push while still drafts.
    reviewbot_review_drafts: bool = False
    reviewbot_recheck_command: str = "/reviewbot recheck"
    # On the Hub: commit the review's text fixes to the pull request (its author or the owner).
    reviewbot_fix_command: str = "/reviewbot fix"
    # Review and log, post nothing (no comment, check run, label or reaction): a trial run.
    reviewbot_dry_run: bool = False
    # A new fine-tune of a watched model is someone else's repository: open a discussion on it
    # only when asked to; otherwise its verdict is only logged.
    reviewbot_comment_on_new_models: bool = False
    # Deduplication window for webhook deliveries: GitHub redelivers up to 3 days back (7 on GHES).
    reviewbot_dedup_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    # Embedded mode: reviews run on this many threads, with at most this many waiting.
    reviewbot_workers: int = Field(default=2, gt=0)
    reviewbot_max_pending: int = Field(default=64, gt=0)
    reviewbot_log_level: str = "INFO"
    # Git LFS objects this big or bigger are read where they lie, through HTTP range requests,
    # and never downloaded whole; smaller ones cost about as much either way.
    reviewbot_remote_min_bytes: int = Field(default=1 << 20, ge=0)
    # The tier-1 evals stream at most this much tensor data per review to look for NaN/Inf and
    # compare with the base; past it those checks are skipped and the verdict says so.
    reviewbot_evals_max_stream_bytes: int = Field(default=2 << 30, ge=0)

    # The receiver's bounds on what an unauthenticated sender may hold. A connection must finish
    # its request headers this many seconds after it opens (or after its first byte when kept
    # alive), and its body this many seconds after the headers: GitHub gives up on an answer
    # after 10 s, so a body still arriving later is nobody's delivery.
    reviewbot_header_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    reviewbot_body_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    # One body over this is refused (413), before it is read when it declares its length.
    reviewbot_max_body_bytes: int = Field(default=MAX_WEBHOOK_BYTES, gt=0)
    # Body bytes all requests in flight may hold together before they are authenticated; past it
    # new bodies get 503 with Retry-After, so many large senders cannot pin the process's memory.
    reviewbot_body_budget_bytes: int = Field(default=64 << 20, gt=0)

    @field_validator("reviewbot_watched_models", mode="before")
    @classmethod
    def _split_models(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("github_private_key", mode="before")
    @classmethod
    def _unescape_key(cls, value: Any) -> Any:
        # A .env line holds the PEM with its newlines as \n: honcho and python-dotenv turn them
        # back, `set -a; . ./.env` does not. A PEM never contains a backslash, so undo it here.
        if isinstance(value, str) and "\n" not in value and "\\n" in value:
            return value.replace("\\n", "\n")
        return value

    @field_validator("github_api_url", "hf_endpoint", "github_web_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("reviewbot_public_url")
    @classmethod
    def _strip_public_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else None

    @model_validator(mode="after")
    def _complete_platforms(self) -> Settings:
        problems: list[str] = []
        if self.github_enabled:
            if self.github_app_id is None:
                problems.append("GITHUB_APP_ID")
            if self.github_webhook_secret is None:
                problems.append("GITHUB_WEBHOOK_SECRET")
            if self.github_private_key is None and self.github_private_key_path is None:
                problems.append("GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH")
        if self.hf_enabled:
            if self.hf_token is None:
                problems.append("HF_TOKEN")
            if self.hf_webhook_secret is None:
                problems.append("HF_WEBHOOK_SECRET")
        if self.reviewbot_session_secret is not None or self.reviewbot_public_url is not None:
            problems += [
                name
                for name, value in (
                    ("GITHUB_CLIENT_ID", self.github_client_id),
                    ("GITHUB_CLIENT_SECRET", self.github_client_secret),
                    ("REVIEWBOT_SESSION_SECRET", self.reviewbot_session_secret),
                    ("REVIEWBOT_PUBLIC_URL", self.reviewbot_public_url),
                )
                if value is None
            ]
        if problems:
            raise ValueError(f"missing required setting(s): {', '.join(problems)}")
        secret = self.reviewbot_session_secret
        if secret is not None and len(secret.get_secret_value()) < 32:
            raise ValueError("REVIEWBOT_SESSION_SECRET must be at least 32 characters")
        if self.reviewbot_body_budget_bytes < self.reviewbot_max_body_bytes:
            # otherwise a body of the largest size allowed could never be accepted
            raise ValueError(
                "REVIEWBOT_BODY_BUDGET_BYTES must be at least REVIEWBOT_MAX_BODY_BYTES"
            )
        if self.github_private_key is not None and self.github_private_key_path is not None:
            raise ValueError("set GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH, not both")
        path = self.github_private_key_path
        if path is not None and not path.is_file():
            raise ValueError(f"GITHUB_PRIVATE_KEY_PATH: no such file: {path}")
        return self

    @property
    def github_enabled(self) -> bool:
        return any(
            value is not None
            for value in (
                self.github_app_id,
                self.github_private_key,
                self.github_private_key_path,
                self.github_webhook_secret,
            )
        )

    @property
    def dashboard_enabled(self) -> bool:
        """Sign-in needs the App's OAuth client, a session secret and the public URL."""
        return all(
            value is not None
            for value in (
                self.github_client_id,
                self.github_client_secret,
                self.reviewbot_session_secret,
                self.reviewbot_public_url,
            )
        )

    @property
    def hf_enabled(self) -> bool:
        return self.hf_token is not None or self.hf_webhook_secret is not None

    def enabled(self, platform: Platform) -> bool:
        return self.github_enabled if platform is Platform.GITHUB else self.hf_enabled

    def github_private_key_pem(self) -> str:
        """The App's private key, from the variable or the file it names."""
        if self.github_private_key is not None:
            return self.github_private_key.get_secret_value()
        if self.github_private_key_path is not None:
            return self.github_private_key_path.read_text(encoding="utf-8")
        raise ConfigError("missing required setting: GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH")

    def require_serving(self) -> None:
        """``serve`` needs something to listen for."""
        if not (self.github_enabled or self.hf_enabled):
            raise ConfigError(
                "no platform configured: set the GITHUB_* settings (GITHUB_APP_ID, "
                "GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH, GITHUB_WEBHOOK_SECRET) "
                "and/or the Hub's (HF_TOKEN, HF_WEBHOOK_SECRET)"
            )

    def require_platform(self, platform: Platform) -> None:
        if self.enabled(platform):
            return
        needed = (
            "GITHUB_APP_ID, GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH, GITHUB_WEBHOOK_SECRET"
            if platform is Platform.GITHUB
            else "HF_TOKEN, HF_WEBHOOK_SECRET"
        )
        raise ConfigError(f"{platform.value} is not configured: set {needed}")


class LocalSettings(BaseSettings):
    """What the local commands (``scan``, ``review``) read: the Hub to ask and a result cache.

    The same variables as ``Settings``, without its platform rules: a machine configured as a
    half of the service (a token without a webhook secret) can still scan.
    """

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    hf_token: SecretStr | None = None
    hf_endpoint: str = "https://huggingface.co"
    redis_url: str | None = None

    @field_validator("hf_endpoint")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")


def load_local_settings() -> LocalSettings:
    """``LocalSettings`` from the environment; validation errors as a ConfigError."""
    try:
        return LocalSettings()
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        names = ".".join(str(part) for part in error["loc"]).upper()
        reason = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{names}: {reason}" if names else reason)
    return "; ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (``overrides`` win) and turn validation errors into a ConfigError.

    The message carries variable names and pydantic's reason only, never the value given, which
    may be a secret.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
