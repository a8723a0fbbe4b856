"""The hidden markers that make the verdict comment findable and say what it is for."""

from __future__ import annotations

import re

MARKER = "<!-- reviewbot:verdict -->"
# Starts the body of a repository's dashboard issue (`[triage] dashboard-issue`).
DASHBOARD_MARKER = "<!-- reviewbot:dashboard -->"
_FINGERPRINT = re.compile(r"<!-- reviewbot:fingerprint=([0-9a-f]{1,64}) -->")


def sha_marker(head_sha: str) -> str:
    """A second hidden marker naming the reviewed commit: a re-delivery checks it to skip work."""
    return f"<!-- reviewbot:sha={head_sha} -->"


def fingerprint_marker(fingerprint: str) -> str:
    """A hidden marker naming the verdict and findings a comment shows (``publication``
    computes it), so an unchanged result is recognised without comparing rendered text."""
    return f"<!-- reviewbot:fingerprint={fingerprint} -->"


def with_sha_marker(body: str, head_sha: str, fingerprint: str | None = None) -> str:
    """``body`` with the sha (and fingerprint) markers right after ``MARKER`` on its first line.

    On the first line they survive any truncation of a long comment, so a re-delivery still
    finds them; ``verdict_sha_matches`` and ``posted_fingerprint`` look there and nowhere else.
    """
    rest = body[len(MARKER) :] if body.startswith(MARKER) else "\n" + body
    extra = fingerprint_marker(fingerprint) if fingerprint else ""
    return MARKER + sha_marker(head_sha) + extra + rest


def verdict_sha_matches(posted: str, head_sha: str) -> bool:
    """Whether a posted verdict is for ``head_sha`` (its first line carries the sha marker)."""
    return sha_marker(head_sha) in posted.split("\n", 1)[0]


def posted_fingerprint(posted: str) -> str | None:
    """The fingerprint a posted verdict's first line carries (None for older comments)."""
    match = _FINGERPRINT.search(posted.split("\n", 1)[0])
    return match.group(1) if match else None


# Start the body of the bot's suggestion review, and end each suggestion comment in it.
SUGGESTIONS_MARKER = "<!-- reviewbot:suggestions -->"
SUGGESTION_MARKER = "<!-- reviewbot:suggestion -->"
