"""A repository's pull requests as triage rows and history facts, the verdict from our label."""

from __future__ import annotations

from datetime import UTC, datetime

from github.PullRequest import PullRequest
from github.Repository import Repository

from reviewbot.history.records import ContributionMeta
from reviewbot.history.view import ContributionRow
from reviewbot.platforms.github.verdict import LABEL_PREFIX

# GitHub's author_association values for someone with no earlier contribution to the repository
# (NONE: no association at all, so nothing merged there yet either).
FIRST_TIME = frozenset({"FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "NONE"})
_VERDICTS = frozenset({"pass", "warn", "fail"})
MAX_LISTED = 1000  # a triage list, not an archive: past this the oldest are left out


def open_pull_rows(repo: Repository, *, with_verdicts: bool) -> list[ContributionRow]:
    """Every open pull request, oldest first; ``with_verdicts`` reads the ``reviewbot: <v>``
    label (the dashboard's view), else every row is "not reviewed" (what ``--refresh`` adds)."""
    rows: list[ContributionRow] = []
    for pull in repo.get_pulls(state="open", sort="created", direction="asc"):
        if len(rows) >= MAX_LISTED:
            break
        rows.append(_row(repo.full_name, pull, _verdict(pull) if with_verdicts else None))
    return rows


def _verdict(pull: PullRequest) -> str | None:
    for label in pull.labels:
        name = str(label.name)
        if name.startswith(LABEL_PREFIX) and name[len(LABEL_PREFIX) :] in _VERDICTS:
            return name[len(LABEL_PREFIX) :]
    return None


def _row(full_name: str, pull: PullRequest, verdict: str | None) -> ContributionRow:
    return ContributionRow(
        platform="github",
        repo=full_name,
        number=int(pull.number),
        title=str(pull.title or ""),
        author=str(pull.user.login) if pull.user else "",
        first_time=pull.raw_data.get("author_association") in FIRST_TIME,
        url=str(pull.html_url),
        state="open",
        head_sha=str(pull.head.sha) if verdict else None,
        verdict=verdict,
        worst=None,
        counts={},
        base_models=(),
        licence=None,
        opened_at=_utc(pull.created_at),
        reviewed_at=None,
        updated_at=_utc(pull.updated_at) if pull.updated_at else None,
    )


def pull_meta(full_name: str, pull: PullRequest) -> ContributionMeta:
    """What the history keeps of a pull request, from the one GET that loaded it."""
    state = "merged" if pull.merged else "open" if pull.state == "open" else "closed"
    return ContributionMeta(
        platform="github",
        repo=full_name,
        number=int(pull.number),
        kind="pull_request",
        opened_at=_utc(pull.created_at),
        title=str(pull.title or ""),
        author=str(pull.user.login) if pull.user else "",
        first_time=pull.raw_data.get("author_association") in FIRST_TIME,
        state=state,
        updated_at=_utc(pull.updated_at) if pull.updated_at else None,
        url=str(pull.html_url),
    )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
