"""The one error a reader raises when it hits a bound (requests, bytes, depth)."""

from __future__ import annotations


class LimitExceeded(Exception):
    """A parser hit one of its bounds; the caller turns it into a finding."""
