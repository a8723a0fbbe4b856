"""The hidden markers that make the verdict comment findable and say which commit it is for."""

from __future__ import annotations

MARKER = "<!-- reviewbot:verdict -->"
# Starts the body of a repository's dashboard issue (`[triage] dashboard-issue`).
DASHBOARD_MARKER = "<!-- reviewbot:dashboard -->"


def sha_marker(head_sha: str) -> str:
    """A second hidden marker naming the reviewed commit: a re-delivery checks it to skip work."""
    return f"<!-- reviewbot:sha={head_sha} -->"


def with_sha_marker(body: str, head_sha: str) -> str:
    """``body`` with the sha marker right after ``MARKER`` on its first line.

    On the first line it survives any truncation of a long comment, so a re-delivery still
    finds it; ``verdict_sha_matches`` looks for it there and nowhere else.
    """
    rest = body[len(MARKER) :] if body.startswith(MARKER) else "\n" + body
    return MARKER + sha_marker(head_sha) + rest


def verdict_sha_matches(posted: str, head_sha: str) -> bool:
    """Whether a posted verdict is for ``head_sha`` (its first line carries the sha marker)."""
    return sha_marker(head_sha) in posted.split("\n", 1)[0]
