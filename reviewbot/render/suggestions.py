"""Text fixes as one pull-request review: GitHub suggestion blocks, the rest in the review body."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from checks.fixes import Fix
from reviewbot.markers import SUGGESTION_MARKER, SUGGESTIONS_MARKER, sha_marker
from reviewbot.render.escape import code

# Suggestions in one review; more would bury the verdict, and the rest are listed in the body.
MAX_SUGGESTIONS = 10


@dataclass(frozen=True)
class ReviewComment:
    """One suggestion on the head's side of the diff (GitHub's ``side: RIGHT``)."""

    path: str
    line: int
    body: str


@dataclass(frozen=True)
class SuggestionReview:
    body: str
    comments: list[ReviewComment] = field(default_factory=list)


def fence(text: str, info: str = "") -> str:
    """A code fence ``text`` cannot close early: longer than any backtick run inside."""
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    return f"{ticks}{info}\n{text}\n{ticks}"


def suggestion_review(
    fixes: Sequence[Fix],
    commentable: Mapping[str, frozenset[int]],
    head_sha: str,
    *,
    limit: int = MAX_SUGGESTIONS,
) -> SuggestionReview | None:
    """The review for ``fixes`` at ``head_sha``, or None when there is nothing to suggest.

    ``commentable`` lists, per path, the head-side lines the diff shows: GitHub refuses a
    suggestion anywhere else, so a fix on another line (or a file still to be created) is
    written out in the body instead, as are the ones beyond ``limit``.
    """
    if not fixes:
        return None
    comments: list[ReviewComment] = []
    in_body: list[Fix] = []
    for fix in fixes:
        placeable = fix.line >= 1 and fix.line in commentable.get(fix.path, frozenset())
        if placeable and len(comments) < limit:
            comments.append(ReviewComment(fix.path, fix.line, _comment(fix)))
        else:
            in_body.append(fix)
    return SuggestionReview(_body(comments, in_body, head_sha), comments)


def _comment(fix: Fix) -> str:
    return f"{fence(fix.new, 'suggestion')}\n{SUGGESTION_MARKER}"


def _body(comments: list[ReviewComment], rest: Iterable[Fix], head_sha: str) -> str:
    lines = [SUGGESTIONS_MARKER + sha_marker(head_sha)]
    if comments:
        lines.append(
            f"**reviewbot** suggests {len(comments)} text fix"
            f"{'es' if len(comments) != 1 else ''} below: each can be committed with one click."
        )
    rest = list(rest)
    if rest:
        lines += ["", "These cannot be suggested on the diff; add the text by hand:"]
        lines += [describe(fix) for fix in rest]
    return "\n".join(lines) + "\n"


def describe(fix: Fix) -> str:
    """One fix in words plus its exact text (a verdict comment on the Hub shows these too)."""
    if fix.line == 0:
        where = f"create {code(fix.path)} containing:"
    else:
        where = f"in {code(fix.path)}, replace line {fix.line} with:"
    return f"- {where}\n\n{_indent(fence(fix.new, 'text'))}\n"


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else line for line in text.splitlines())


def hub_fix_section(fixes: Sequence[Fix], command: str = "/reviewbot fix") -> str:
    """The verdict comment's part on the Hub (no reviews there): each fix's exact text, and the
    command that commits them all to the pull request."""
    lines = ["", "### Text fixes", ""]
    lines += [describe(fix) for fix in fixes[:MAX_SUGGESTIONS]]
    if len(fixes) > MAX_SUGGESTIONS:
        lines.append(f"…and {len(fixes) - MAX_SUGGESTIONS} more.\n")
    lines.append(
        f"The pull request's author or the repository's owner can comment `{command}` "
        "to have reviewbot commit these to the pull request.\n"
    )
    return "\n".join(lines)
