"""The Hub's open pull requests and new fine-tunes of watched bases, as "not reviewed" rows."""

from __future__ import annotations

from datetime import UTC, datetime

from huggingface_hub import HfApi

from reviewbot.history.view import ContributionRow

MAX_LISTED = 1000  # a triage list, not an archive


def open_pull_rows(api: HfApi, repo_id: str, *, endpoint: str) -> list[ContributionRow]:
    """The model repository's open pull-request discussions, oldest first."""
    rows: list[ContributionRow] = []
    discussions = api.get_repo_discussions(
        repo_id, repo_type="model", discussion_type="pull_request", discussion_status="open"
    )
    for discussion in discussions:
        # The filters are asked of the Hub; kept here as well, as they decide what is listed.
        if not discussion.is_pull_request or discussion.status != "open":
            continue
        rows.append(
            _row(
                repo_id,
                discussion.num,
                discussion.title,
                discussion.author,
                f"{endpoint}/{repo_id}/discussions/{discussion.num}",
                discussion.created_at,
            )
        )
        if len(rows) >= MAX_LISTED:
            break
    return sorted(rows, key=lambda row: row.opened_at)


def new_model_rows(api: HfApi, base: str, *, endpoint: str) -> list[ContributionRow]:
    """Model repositories that declare ``base`` as their base model, newest first."""
    rows = []
    for model in api.list_models(filter=f"base_model:{base}", sort="created_at", limit=MAX_LISTED):
        created = model.created_at or model.last_modified or datetime.now(UTC)
        author = model.author or model.id.split("/", 1)[0]
        rows.append(_row(model.id, 0, model.id, author, f"{endpoint}/{model.id}", created, base))
    return rows


def _row(
    repo_id: str,
    number: int,
    title: str,
    author: str,
    url: str,
    opened_at: datetime,
    base: str | None = None,
) -> ContributionRow:
    return ContributionRow(
        platform="hf",
        repo=repo_id,
        number=number,
        title=title,
        author=author,
        first_time=False,  # the Hub does not say
        url=url,
        state="open",
        head_sha=None,
        verdict=None,
        worst=None,
        counts={},
        base_models=(base,) if base else (),
        licence=None,
        opened_at=opened_at if opened_at.tzinfo else opened_at.replace(tzinfo=UTC),
        reviewed_at=None,
    )
