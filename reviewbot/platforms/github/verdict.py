"""The verdict on GitHub: one sticky comment, one check run of this App, one verdict label.

Every write looks first for what this App already made, so repeating one after a failure
halfway (a create carried out but answered 502, a refused PATCH) finishes the job without a
duplicate. Only this App's comments and check runs count, by App id, never by name or marker:
anyone could write the marker, and a contributor's workflow job may well be called ``reviewbot``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from github.CheckRun import CheckRun
from github.GithubException import GithubException
from github.IssueComment import IssueComment
from github.Repository import Repository

from reviewbot.markers import MARKER
from reviewbot.platforms.base import Publication

CHECK_NAME = "reviewbot"
LABEL_PREFIX = "reviewbot: "
ANNOTATIONS_PER_REQUEST = 50  # the Checks API rejects more in one request
SUMMARY_LIMIT = 65_535  # check-run output.summary and issue comment bodies cap here
CONCLUSIONS = {"pass": "success", "warn": "neutral", "fail": "failure", "error": "failure"}


class Verdicts:
    """This App's verdict surfaces on one repository's pull requests (errors not mapped here)."""

    def __init__(self, app_id: int) -> None:
        self.app_id = app_id

    def sticky(self, repo: Repository, number: int) -> IssueComment | None:
        for comment in repo.get_issue(number).get_comments():
            if comment.body.startswith(MARKER) and self._ours(comment):
                return comment
        return None

    def _ours(self, comment: IssueComment) -> bool:
        app = comment.performed_via_github_app
        return app is not None and app.id == self.app_id

    def published(self, repo: Repository, number: int, head_sha: str) -> bool:
        """Our runs on ``head_sha`` are all completed with a verdict: the run is written last,
        and a quiet review (``Publication.comment`` false) leaves the comment as it was."""
        runs = self.our_runs(repo, head_sha)
        return (
            bool(runs)
            and all(run.status == "completed" for run in runs)
            and runs[0].conclusion != "cancelled"
        )

    def our_runs(self, repo: Repository, head_sha: str) -> list[CheckRun]:
        """This App's check runs on ``head_sha``, newest first."""
        runs = repo.get_commit(head_sha).get_check_runs(check_name=CHECK_NAME, filter="all")
        ours = [run for run in runs if run.app is not None and run.app.id == self.app_id]
        return sorted(ours, key=lambda run: run.id, reverse=True)

    def open_run(self, repo: Repository, head_sha: str) -> CheckRun | None:
        return next((r for r in self.our_runs(repo, head_sha) if r.status != "completed"), None)

    def begin(self, repo: Repository, key: str, head_sha: str) -> None:
        """An in-progress run for ``head_sha``, reused if one of ours is open."""
        if self.open_run(repo, head_sha) is None:
            _create_run(repo, key, head_sha)

    def cancel(self, repo: Repository, head_sha: str) -> None:
        run = self.open_run(repo, head_sha)
        if run is not None:
            run.edit(
                status="completed",
                conclusion="cancelled",
                completed_at=datetime.now(UTC),
                output={
                    "title": "superseded",
                    "summary": "A newer commit was pushed; reviewbot reviews that one.",
                },
            )

    def post_comment(self, repo: Repository, number: int, body: str) -> None:
        """Edit the sticky comment, or create it when there is none yet."""
        body = cap(body)
        sticky = self.sticky(repo, number)
        if sticky is None:
            repo.get_issue(number).create_comment(body)
        elif sticky.body != body:
            sticky.edit(body)

    def complete_run(self, repo: Repository, key: str, publication: Publication) -> None:
        """Complete our open run (or else the newest one a concurrent job completed)."""
        annotations = [
            {
                "path": a.path,
                "start_line": a.start_line,
                "end_line": a.end_line,
                "annotation_level": a.level,
                "message": a.message[:64_000],
                "title": a.title[:255],
            }
            for a in publication.annotations
        ]
        batches = [
            annotations[i : i + ANNOTATIONS_PER_REQUEST]
            for i in range(0, len(annotations), ANNOTATIONS_PER_REQUEST)
        ] or [[]]
        output = {"title": publication.title, "summary": cap(publication.summary)}
        runs = self.our_runs(repo, publication.head_sha)
        found = [r for r in runs if r.status != "completed"] or runs
        run = found[0] if found else _create_run(repo, key, publication.head_sha)
        # annotations append across updates; the last update also completes the run
        for batch in batches[:-1]:
            run.edit(output={**output, "annotations": batch})
        # an empty list removes the buttons a run of an earlier verdict of this head showed
        actions = [
            {"label": a.label, "description": a.description, "identifier": a.identifier}
            for a in publication.actions
        ]
        run.edit(
            status="completed",
            conclusion=CONCLUSIONS.get(publication.verdict, "failure"),
            completed_at=datetime.now(UTC),
            output={**output, "annotations": batches[-1]},
            actions=actions,
        )

    def set_label(self, repo: Repository, number: int, verdict: str) -> None:
        """``reviewbot: <verdict>``, replacing any other verdict label."""
        label = LABEL_PREFIX + verdict
        issue = repo.get_issue(number)
        present = [lb.name for lb in issue.get_labels()]
        for name in present:
            if name.startswith(LABEL_PREFIX) and name != label:
                try:
                    issue.remove_from_labels(name)
                except GithubException as exc:
                    if exc.status != 404:  # removed already (a retried DELETE)
                        raise
        if label not in present:
            issue.add_to_labels(label)


def _create_run(repo: Repository, key: str, head_sha: str) -> CheckRun:
    return repo.create_check_run(
        name=CHECK_NAME,
        head_sha=head_sha,
        status="in_progress",
        started_at=datetime.now(UTC),
        external_id=key,
    )


def cap(text: str) -> str:
    if len(text) <= SUMMARY_LIMIT:
        return text
    return text[: SUMMARY_LIMIT - 40] + "\n\n…(truncated by reviewbot)\n"
