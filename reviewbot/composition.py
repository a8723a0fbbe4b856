"""The composition root: platform clients, caches, locks and records built from ``Settings``.

Everything process-wide lives here (one Redis client per URL, one in-process stand-in each when
there is no Redis), so the review flow takes what it needs as arguments and tests build their
own.
"""

from __future__ import annotations

import atexit
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar, cast

from reviewbot import logs
from reviewbot.history.recorder import HistoryRecorder, NoRecorder, Recorder
from reviewbot.models import ContributionRef, Platform
from reviewbot.publish_lock import LocalLocks, PublishLocks, RedisLocks
from reviewbot.result_cache import RedisResultCache
from reviewbot.review import HubAccess
from reviewbot.review_cache import MemoryReviewCache, RedisReviewCache, ReviewCache
from reviewbot.started_runs import NoStartedRuns, RedisStartedRuns, StartedRuns
from reviewbot.waivers import MemoryWaivers, WaiverStore

if TYPE_CHECKING:
    from checks.cache import ResultCache
    from reviewbot.config import Settings
    from reviewbot.platforms.base import PlatformClient

_T = TypeVar("_T")
# Without Redis, the embedded pool's jobs and the CLI share these.
PROCESS_LOCKS: PublishLocks = LocalLocks()
PROCESS_REVIEW_CACHE: ReviewCache = MemoryReviewCache()
NO_STARTED_RUNS: StartedRuns = NoStartedRuns()
NO_RECORDER: Recorder = NoRecorder()
# Without a history database: accepted findings are kept by this process only.
PROCESS_WAIVERS: WaiverStore = MemoryWaivers()
# Without settings (tests, the CLI's --inline): the settings' own defaults.
DEFAULT_REMOTE_MIN_BYTES = 1 << 20
DEFAULT_MAX_STREAM_BYTES = 2 << 30


def make_platform(platform: Platform, settings: Settings) -> PlatformClient:
    """The platform client the settings describe (raises ConfigError when it is not set up)."""
    settings.require_platform(platform)
    if platform is Platform.GITHUB:
        from reviewbot.platforms.github import GitHubPlatform

        key = settings.github_private_key_pem()
        logs.register_secret(key)
        assert settings.github_app_id is not None  # require_platform checked it
        return GitHubPlatform(
            app_id=settings.github_app_id, private_key=key, api_url=settings.github_api_url
        )
    from reviewbot.platforms.hub import HubPlatform

    assert settings.hf_token is not None  # require_platform checked it
    token = settings.hf_token.get_secret_value()
    logs.register_secret(token)
    return HubPlatform(
        endpoint=settings.hf_endpoint, token=token, watched=settings.reviewbot_watched_models
    )


def current_settings() -> Settings:
    """The settings from the environment (imported late: the CLI's local commands need none)."""
    from reviewbot.config import load_settings

    return load_settings()


def platform_for(ref: ContributionRef, settings: Settings | None) -> PlatformClient:
    """The client for ``ref``'s platform, from ``settings`` or else the environment."""
    return make_platform(ref.platform, settings or current_settings())


def hub_access(settings: Settings | None, platform: PlatformClient | None = None) -> HubAccess:
    """Where base models' cards come from: the configured Hub, with its token when one is set.

    A gated or on-premises base model is only readable there; without settings a Hub
    platform's own endpoint and token serve, and otherwise the public Hub, anonymously.
    """
    if settings is not None:
        token = settings.hf_token.get_secret_value() if settings.hf_token is not None else None
        return HubAccess(settings.hf_endpoint, token)
    from reviewbot.platforms.hub import HubPlatform

    if isinstance(platform, HubPlatform):
        return HubAccess(platform.endpoint, platform.token)
    return HubAccess()


@dataclass(frozen=True)
class ReviewInputs:
    """What shapes a review besides the contribution: where base cards come from, the caches,
    and the transfer bounds. Everything but the caches is part of a cached review's key."""

    hub: HubAccess
    result_cache: ResultCache | None = None
    review_cache: ReviewCache | None = None
    remote_min_bytes: int | None = DEFAULT_REMOTE_MIN_BYTES
    max_stream_bytes: int | None = DEFAULT_MAX_STREAM_BYTES
    locks: PublishLocks = PROCESS_LOCKS
    started: StartedRuns = NO_STARTED_RUNS
    # How the verdict is published (not part of a cached review's key): see ``Settings``.
    dry_run: bool = False
    comment_on_new_models: bool = False
    # Where the finished review is handed for the history (written off the review's path).
    recorder: Recorder = NO_RECORDER
    # Accepted findings (``/reviewbot accept``): the history database, or this process.
    waivers: WaiverStore = PROCESS_WAIVERS

    @classmethod
    def of(cls, settings: Settings | None, platform: PlatformClient | None = None) -> ReviewInputs:
        if settings is None:
            return cls(hub_access(None, platform), review_cache=PROCESS_REVIEW_CACHE)
        return cls(
            hub=hub_access(settings, platform),
            result_cache=result_cache(settings),
            review_cache=review_cache(settings),
            remote_min_bytes=settings.reviewbot_remote_min_bytes,
            max_stream_bytes=settings.reviewbot_evals_max_stream_bytes,
            locks=publish_locks(settings),
            started=started_runs(settings),
            dry_run=settings.reviewbot_dry_run,
            comment_on_new_models=settings.reviewbot_comment_on_new_models,
            recorder=history_recorder(settings),
            waivers=waiver_store(settings),
        )

    def key_parts(self) -> tuple[object, ...]:
        return (self.hub.endpoint, self.remote_min_bytes, self.max_stream_bytes)


def history_recorder(settings: Settings | None) -> Recorder:
    """The process's recorder for the settings' history database, or none when it is off
    (``REVIEWBOT_HISTORY``) or there are no settings (tests, the CLI's inline review)."""
    if settings is None or not settings.reviewbot_history:
        return NO_RECORDER
    from reviewbot.history.engine import default_url

    return _recorder_for(settings.reviewbot_database_url or default_url())


_RECORDERS: list[HistoryRecorder] = []
_RECORDERS_LOCK = threading.Lock()


@functools.lru_cache(maxsize=8)
def _recorder_for(url: str) -> HistoryRecorder:
    from reviewbot.history.engine import safe_url
    from reviewbot.history.store import HistoryStore

    recorder = HistoryRecorder(lambda: HistoryStore(url), where=safe_url(url))
    with _RECORDERS_LOCK:
        if not _RECORDERS:
            atexit.register(close_recorders)
        _RECORDERS.append(recorder)
    return recorder


def close_recorders(timeout: float | None = None) -> None:
    """Flush and stop every recorder this process made: at exit, or when a worker stops."""
    with _RECORDERS_LOCK:
        recorders = list(_RECORDERS)
    for recorder in recorders:
        if timeout is None:
            recorder.close()
        else:
            recorder.close(timeout)


def waiver_store(settings: Settings | None) -> WaiverStore:
    """The waivers in the history database (``REVIEWBOT_DATABASE_URL``, else the default one
    while the history is on), else in this process's memory."""
    if settings is None:
        return PROCESS_WAIVERS
    url = settings.reviewbot_database_url
    if url is None and settings.reviewbot_history:
        from reviewbot.history.engine import default_url  # the history's own default database

        url = default_url()
    return _sql_waivers(url) if url else PROCESS_WAIVERS


@functools.lru_cache(maxsize=4)
def _sql_waivers(url: str) -> WaiverStore:
    from reviewbot.history.waivers import SqlWaivers  # SQLAlchemy only when a database is set

    return SqlWaivers(url)


def publish_locks(settings: Settings | None) -> PublishLocks:
    """The per-contribution write locks: in the settings' Redis, or in this process."""
    return _per_redis(settings, RedisLocks, PROCESS_LOCKS)


def started_runs(settings: Settings | None) -> StartedRuns:
    """Where opened check runs are recorded for the sweeper: the settings' Redis, or nowhere."""
    return _per_redis(settings, RedisStartedRuns, NO_STARTED_RUNS)


def review_cache(settings: Settings | None) -> ReviewCache:
    """Whole reviews in the settings' Redis, or in this process when there is none."""
    return _per_redis(settings, RedisReviewCache, PROCESS_REVIEW_CACHE)


def result_cache(settings: Settings | None) -> ResultCache | None:
    """The per-file result cache in the settings' Redis (one per process), or None without one."""
    return _per_redis(settings, RedisResultCache, None)


def _per_redis(settings: Settings | None, make: Callable[[str], _T], without: _T) -> _T:
    """``make(redis_url)`` once per process and URL, or ``without`` when there is no Redis."""
    if settings is None or not settings.redis_url:
        return without
    return cast(_T, _one_per_url(make, settings.redis_url))


@functools.lru_cache(maxsize=16)
def _one_per_url(make: Callable[[str], object], redis_url: str) -> object:
    return make(redis_url)
