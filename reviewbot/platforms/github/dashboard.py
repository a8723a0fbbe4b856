"""The dashboard issue on GitHub: one per repository, found again and edited, never doubled.

Found by its marker among the repository's open issues, and by this App's id: anyone can write
the marker, only this App's installation token makes issues "performed via" it.
"""

from __future__ import annotations

from github.GithubException import GithubException
from github.Issue import Issue
from github.Repository import Repository

from reviewbot.errors import TransientError, is_transient_status
from reviewbot.markers import DASHBOARD_MARKER

DASHBOARD_TITLE = "reviewbot dashboard"


class Dashboards:
    """This App's dashboard issue on one repository (errors not mapped here)."""

    def __init__(self, app_id: int) -> None:
        self.app_id = app_id

    def find_all(self, repo: Repository) -> list[Issue]:
        """Our open issues whose body starts with the marker, oldest first."""
        found = []
        for issue in repo.get_issues(state="open", sort="created", direction="asc"):
            body = issue.body or ""
            if issue.pull_request is not None or not body.startswith(DASHBOARD_MARKER):
                continue
            app = issue.performed_via_github_app
            if app is not None and app.id == self.app_id:
                found.append(issue)
        return found

    def write(self, repo: Repository, body: str) -> int:
        """Edit the dashboard in place, or create it; returns its number.

        A create answered with a server error may still have happened: look again before
        creating a second time. Two reviews of one repository finishing at once may each
        create one; after a create the newer ones are closed, so one stays.
        """
        found = self.find_all(repo)
        if not found:
            try:
                repo.create_issue(title=DASHBOARD_TITLE, body=body)
            except GithubException as exc:
                if not is_transient_status(exc.status):
                    raise
                if not self.find_all(repo):
                    repo.create_issue(title=DASHBOARD_TITLE, body=body)
            found = self.find_all(repo)
            if not found:  # created, but not listed yet: the next verdict finds it
                raise TransientError("the new dashboard issue is not listed yet")
            for extra in found[1:]:
                extra.edit(state="closed")
        issue = found[0]
        if issue.body != body:
            issue.edit(body=body)
        return int(issue.number)
