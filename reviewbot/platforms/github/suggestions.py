"""The bot's suggestion review on a pull request: one per head, the previous one's comments gone.

A suggestion can only sit on a line the diff shows (``commentable_lines``). Each write looks
first for what an earlier attempt made: a review for this head already there (a create that
happened but answered 502) means there is nothing to do. Reviews are told apart by their hidden
marker and a bot author: the review API names no App, unlike issue comments.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from github.GithubException import GithubException
from github.PullRequest import PullRequest
from github.PullRequestReview import PullRequestReview
from github.Repository import Repository

from checks.fixes import Fix
from reviewbot.markers import SUGGESTION_MARKER, SUGGESTIONS_MARKER, sha_marker
from reviewbot.render.suggestions import suggestion_review

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
SUPERSEDED = (
    f"{SUGGESTIONS_MARKER}\nThese suggestions were for an older commit; "
    "reviewbot's suggestions for the newest one, if any, are in a later review.\n"
)


def commentable_lines(patch: str | None) -> frozenset[int]:
    """Head-side line numbers a review comment may use: added and context lines of the diff."""
    lines: set[int] = set()
    current = 0
    for raw in (patch or "").splitlines():
        hunk = _HUNK.match(raw)
        if hunk:
            current = int(hunk.group(1))
        elif current and raw[:1] in ("+", " "):
            lines.add(current)
            current += 1
    return frozenset(lines)


def publish_suggestions(
    repo: Repository, pull: PullRequest, head_sha: str, fixes: Sequence[Fix]
) -> None:
    """The head's suggestion review, replacing older ones (errors are not mapped here)."""
    ours = [r for r in pull.get_reviews() if _ours(r)]
    if any(_for_head(r, head_sha) for r in ours):
        return
    if not fixes and not ours:
        return
    _retire(pull, ours)
    commentable = {str(f.filename): commentable_lines(f.patch) for f in pull.get_files()}
    review = suggestion_review(fixes, commentable, head_sha)
    if review is None:
        return
    pull.create_review(
        commit=repo.get_commit(head_sha),  # lazy: names the commit without a GET
        body=review.body,
        event="COMMENT",
        comments=[
            {"path": c.path, "line": c.line, "side": "RIGHT", "body": c.body}
            for c in review.comments
        ],
    )


def _ours(review: PullRequestReview) -> bool:
    user = review.user
    return (
        (review.body or "").startswith(SUGGESTIONS_MARKER)
        and user is not None
        and user.type == "Bot"
    )


def _for_head(review: PullRequestReview, head_sha: str) -> bool:
    return sha_marker(head_sha) in (review.body or "").split("\n", 1)[0]


def _retire(pull: PullRequest, reviews: list[PullRequestReview]) -> None:
    """Delete the suggestion comments of ``reviews`` and say in their bodies why they are gone."""
    if not reviews:
        return
    ids = {r.id for r in reviews}
    for comment in pull.get_review_comments():
        if comment.pull_request_review_id in ids and SUGGESTION_MARKER in (comment.body or ""):
            try:
                comment.delete()
            except GithubException as exc:
                if exc.status != 404:  # deleted already (a retried DELETE)
                    raise
    for review in reviews:
        if review.body != SUPERSEDED:
            review.edit(SUPERSEDED)
