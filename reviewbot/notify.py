"""When the bot speaks: whether a verdict creates or edits the sticky comment ([notify])."""

from __future__ import annotations

from reviewbot.markers import posted_fingerprint

FAILING = frozenset({"fail", "error"})  # an error verdict means the review could not be done


def should_comment(
    mode: str, *, verdict: str, fingerprint: str, posted: str | None, has_status: bool
) -> bool:
    """Whether to write the comment, given the comment already ``posted`` (None: none yet).

    ``always`` writes every time (an edit to identical text is still skipped by the platform).
    Otherwise an existing comment is edited only when what it says (its fingerprint: verdict
    and findings) changed, so a stale verdict never stays and an unchanged one notifies no one.
    Without a comment yet, ``on-failure`` writes only for a failing verdict and ``on-change``
    for anything but a pass that a check run already shows (``has_status``).
    """
    if mode == "always":
        return True
    if posted is not None:
        return posted_fingerprint(posted) != fingerprint
    if mode == "on-failure":
        return verdict in FAILING
    return verdict != "pass" or not has_status
