"""The settings a local command reads (the Hub endpoint and token, Redis), validated."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reviewbot.errors import UsageError

if TYPE_CHECKING:
    from reviewbot.config import LocalSettings


def local_settings() -> LocalSettings:
    """``HF_ENDPOINT``, ``HF_TOKEN`` and ``REDIS_URL`` from the environment, through the settings
    model the service uses; a bad value is a usage error, not a traceback.

    Imported only by the commands that need it: pydantic is a noticeable part of start-up.
    """
    from reviewbot.config import ConfigError, load_local_settings

    try:
        return load_local_settings()
    except ConfigError as exc:
        raise UsageError(f"configuration: {exc}") from None
