"""What ``/reviewbot fix`` needs of the Hub: who opened and who asked, and a commit to refs/pr/N."""

from __future__ import annotations

from huggingface_hub import CommitOperationAdd

from reviewbot.models import ContributionRef
from reviewbot.platforms.hub import HubPlatform, hub_errors, pr_revision


def pull_author(hub: HubPlatform, ref: ContributionRef) -> str:
    """The user name that opened the pull request."""
    with hub_errors():
        return str(hub.api.get_discussion_details(ref.repo, ref.number).author)


def commenter(hub: HubPlatform, ref: ContributionRef, user_id: str) -> str | None:
    """The user name behind a Hub user id (webhooks name commenters by id only), read from the
    pull request's own events: whoever asked has just commented there. None if not found."""
    with hub_errors():
        details = hub.api.get_discussion_details(ref.repo, ref.number)
    for event in details.events:
        author = getattr(event, "_event", {}).get("author")
        if isinstance(author, dict) and author.get("_id") == user_id and author.get("name"):
            return str(author["name"])
    return None


def commit_files(
    hub: HubPlatform, ref: ContributionRef, parent: str, files: dict[str, str], message: str
) -> str:
    """Commit ``files`` (path -> text) to the pull request on top of ``parent``: the Hub refuses
    it if the pull request moved on meanwhile. Returns the new commit."""
    operations = [
        CommitOperationAdd(path_in_repo=path, path_or_fileobj=text.encode("utf-8"))
        for path, text in sorted(files.items())
    ]
    with hub_errors():
        info = hub.api.create_commit(
            ref.repo,
            operations,
            commit_message=message,
            revision=pr_revision(ref.number),
            parent_commit=parent,
        )
    return str(info.oid)
