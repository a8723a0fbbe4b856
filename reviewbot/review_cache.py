"""Whole reviews by the commits they read: a re-check of unchanged commits reads no file again.

The key names everything a review's outcome depends on that can change: the repository, the
head and base commits (the base commit fixes the policy file), reviewbot's and the scanner's
versions and the settings that shape a review. What the Hub says of base models' cards can
change too; a cached review is kept a day, so that drift is bounded. A report that says
something about the transfer rather than the content (a file that could not be fetched, a
bound reached, a check that crashed, a base card the Hub did not give) is never stored.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Protocol

from checks.cache import SCANNER_VERSION, TRANSIENT_RULES
from checks.report import Report
from reviewbot import __version__

REVIEW_TTL = 24 * 3600  # seconds
KEY_PREFIX = "reviewbot:review:"
UNCACHEABLE_RULES = TRANSIENT_RULES | {"check-crashed"}


class ReviewCache(Protocol):
    def get(self, key: str) -> Report | None: ...

    def put(self, key: str, report: Report) -> None: ...


def review_key(*parts: object) -> str:
    """A digest of the review's inputs (``parts``) and of the code that reviews them."""
    material = json.dumps([__version__, SCANNER_VERSION, *map(str, parts)])
    return hashlib.sha256(material.encode()).hexdigest()


def storable(report: Report) -> bool:
    if any(f.rule in UNCACHEABLE_RULES for f in report.findings):
        return False
    # base-model cards the Hub did not give: another attempt may get them
    return not any(c.name == "hub" and c.notes for c in report.checks)


def encode(report: Report) -> str:
    return json.dumps(report.to_dict(), sort_keys=True)


def decode(raw: str | bytes) -> Report | None:
    try:
        return Report.from_dict(json.loads(raw))
    except (ValueError, TypeError, KeyError, AttributeError):  # an older layout: a miss
        return None


class MemoryReviewCache:
    """The embedded service's cache (no Redis): the most recent ``size`` reviews."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._items: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Report | None:
        with self._lock:
            raw = self._items.get(key)
            if raw is not None:
                self._items.move_to_end(key)
        return decode(raw) if raw is not None else None

    def put(self, key: str, report: Report) -> None:
        with self._lock:
            self._items[key] = encode(report)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class RedisReviewCache:
    """Reviews as JSON in Redis, shared by every worker; Redis failures read as misses."""

    def __init__(self, redis_url: str, ttl: int = REVIEW_TTL) -> None:
        from reviewbot.result_cache import RedisStore

        self._store = RedisStore(redis_url, KEY_PREFIX, ttl)

    def get(self, key: str) -> Report | None:
        raw = self._store.get(key)
        return decode(raw) if raw is not None else None

    def put(self, key: str, report: Report) -> None:
        self._store.put(key, encode(report))
