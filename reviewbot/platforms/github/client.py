"""GitHub pull requests through PyGithub, authenticated as a GitHub App installation."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests
from github.GithubException import GithubException
from github.PullRequest import PullRequest
from github.Repository import Repository

from checks.base import RemoteBlob
from reviewbot.errors import PermanentError
from reviewbot.models import ContributionRef
from reviewbot.platforms.base import (
    RECHECK_PERMISSIONS,
    ChangedFile,
    Fetched,
    FileListing,
    Publication,
    matches_name,
    safe_destination,
)
from reviewbot.platforms.github import lfs
from reviewbot.platforms.github.auth import AppAuth
from reviewbot.platforms.github.dashboard import Dashboards
from reviewbot.platforms.github.errors import github_errors
from reviewbot.platforms.github.suggestions import publish_suggestions
from reviewbot.platforms.github.verdict import Verdicts

if TYPE_CHECKING:
    from reviewbot.history.records import ContributionMeta
    from reviewbot.history.view import ContributionRow

DEFAULT_API_URL = "https://api.github.com"
MAX_KEPT_PULLS = 64  # pull requests kept as last read, per client
MAX_LISTED_FILES = 3000  # the pull-request files endpoint stops here, whatever the PR holds
SYMLINK_MODE = "120000"  # git's file mode for a symbolic link
# Longest wait PyGithub may sleep in-process for a rate limit; beyond it the task retries later.
MAX_RATE_LIMIT_WAIT = 30.0


class GitHubPlatform:
    """One GitHub App on one API host (github.com or a GitHub Enterprise Server ``/api/v3``)."""

    name = "github"
    has_status = True

    def __init__(
        self,
        *,
        app_id: int | str,
        private_key: str,
        api_url: str = DEFAULT_API_URL,
        max_rate_limit_wait: float | None = None,
        http_retries: int = 2,
        timeout: int = 30,
        paced: bool = True,
    ) -> None:
        """``paced=False`` drops PyGithub's pauses between requests (0.25 s, 1 s per write),
        which spare GitHub's secondary rate limits but only slow down a loopback fake."""
        self.app_id = int(app_id)
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        pace: dict[str, Any] = (
            {} if paced else {"seconds_between_requests": None, "seconds_between_writes": None}
        )
        self.auth = AppAuth(
            app_id=self.app_id,
            private_key=private_key,
            api_url=self.api_url,
            max_rate_limit_wait=(
                MAX_RATE_LIMIT_WAIT if max_rate_limit_wait is None else max_rate_limit_wait
            ),
            http_retries=http_retries,
            timeout=timeout,
            pace=pace,
        )
        self.verdicts = Verdicts(self.app_id)
        # The pull request as last read (the head check right before the verdict was written):
        # the history's facts come from it rather than from one more request.
        self._read: dict[tuple[str, int], PullRequest] = {}
        self.dashboards = Dashboards(self.app_id)

    def installation_token(self, installation_id: int) -> str:
        """An installation access token, cached per process until shortly before it expires."""
        return self.auth.installation_token(installation_id)

    # -- reading ----------------------------------------------------------------------------

    def _repo(self, ref: ContributionRef) -> Repository:
        client, _ = self.auth.client(ref)
        return client.get_repo(ref.repo)

    def _pull(self, ref: ContributionRef) -> PullRequest:
        with github_errors():
            pull = self._repo(ref).get_pull(ref.number)
            _ = pull.head  # load the pull request now, so errors surface inside this mapping
        if len(self._read) >= MAX_KEPT_PULLS:
            self._read.clear()
        self._read[(ref.repo, ref.number)] = pull
        return pull

    def head_sha(self, ref: ContributionRef) -> str:
        pull = self._pull(ref)
        with github_errors():
            return str(pull.head.sha)

    def skip_reason(self, ref: ContributionRef) -> str | None:
        pull = self._pull(ref)
        with github_errors():
            if pull.state != "open":
                return f"the pull request is {'merged' if pull.merged else pull.state}"
        return None

    def list_changed_files(self, ref: ContributionRef, head_sha: str) -> FileListing:
        pull = self._pull(ref)
        files: list[ChangedFile] = []
        with github_errors():
            total = int(pull.changed_files)
            for item in pull.get_files():
                if len(files) >= MAX_LISTED_FILES:
                    break
                files.append(lfs.changed_file(item.filename, item.status, item.patch, item.sha))
        return FileListing(files=files, truncated=total > len(files), total=total)

    def base_revision(self, ref: ContributionRef) -> str | None:
        pull = self._pull(ref)
        with github_errors():
            return str(pull.base.sha)

    def download(
        self,
        ref: ContributionRef,
        head_sha: str,
        files: list[ChangedFile],
        workdir: Path,
        *,
        remote_min_bytes: int | None = None,
    ) -> Fetched:
        wanted = [f for f in files if f.status != "removed"]
        # An LFS object whose pointer diff already named it needs no contents call at all.
        named = {
            f.path: (f.lfs_sha256, f.size)
            for f in wanted
            if f.lfs_sha256 and f.size is not None and lfs.stays_remote(f.size, remote_min_bytes)
        }
        links = self._symlinks(ref, head_sha, [f.path for f in wanted])
        fetched = self._fetch(
            ref,
            head_sha,
            [f.path for f in wanted if f.path not in named and f.path not in links],
            workdir,
            remote_min_bytes=remote_min_bytes,
            pointers={p: named[p] for p in named if p not in links},
        )
        return replace(fetched, links=links)

    def _symlinks(self, ref: ContributionRef, revision: str, paths: list[str]) -> dict[str, str]:
        """The symbolic links among ``paths`` at ``revision`` (path -> target), from git's tree.

        The contents API follows a link to a file in the repository and answers for any other
        with a description, so only the tree's modes tell a link from the file it names.
        """
        wanted = set(paths)
        if not wanted:
            return {}
        repo = self._repo(ref)
        with github_errors():
            tree = repo.get_git_tree(revision, recursive=True)
            linked = {
                str(e.path): str(e.sha)
                for e in tree.tree
                if e.mode == SYMLINK_MODE and str(e.path) in wanted
            }
            return {
                path: base64.b64decode(repo.get_git_blob(sha).content).decode("utf-8", "replace")
                for path, sha in sorted(linked.items())
            }

    def fetch_paths(
        self,
        ref: ContributionRef,
        revision: str,
        names: Sequence[str],
        workdir: Path,
        *,
        max_bytes: int,
    ) -> Fetched:
        repo = self._repo(ref)
        with github_errors():
            try:
                # one listing of the top level instead of one request per name that may not exist
                listing = repo.get_contents("", ref=revision)
            except GithubException as exc:
                if exc.status == 404:  # an empty repository, or no such revision
                    return Fetched()
                raise
            entries = listing if isinstance(listing, list) else [listing]
            wanted = {
                str(e.path): int(e.size)
                for e in entries
                if e.type == "file" and matches_name(str(e.name), names)
            }
        skipped = {
            path: f"larger than {max_bytes:,} bytes"
            for path, size in wanted.items()
            if size > max_bytes
        }
        paths = [
            p
            for p in sorted(wanted)
            if p not in skipped and not safe_destination(workdir, p).exists()
        ]
        fetched = self._fetch(ref, revision, paths, workdir, max_bytes=max_bytes)
        return Fetched(fetched.paths, fetched.sha256, {**skipped, **fetched.skipped})

    def _fetch(
        self,
        ref: ContributionRef,
        revision: str,
        paths: list[str],
        workdir: Path,
        *,
        max_bytes: int | None = None,
        remote_min_bytes: int | None = None,
        pointers: dict[str, tuple[str, int]] | None = None,
    ) -> Fetched:
        """Contents at ``revision`` into ``workdir``, LFS pointers swapped for their objects.

        With ``max_bytes``, an LFS object larger than that is not fetched: its pointer is
        removed and the path is named in ``skipped``. LFS objects of ``remote_min_bytes`` or
        more stay remote (their download links are returned); ``pointers`` are LFS objects
        already known by path (oid, size), fetched or left remote without a contents call.
        """
        pointers = dict(pointers or {})
        if not paths and not pointers:
            return Fetched()
        _, token = self.auth.client(ref)
        with github_errors():
            html_url = str(self._repo(ref).html_url)
        session = requests.Session()
        session.headers["User-Agent"] = "reviewbot"
        skipped: dict[str, str] = {}
        local: list[str] = []
        try:
            for path in paths:
                dest = safe_destination(workdir, path)
                url = (
                    f"{self.api_url}/repos/{ref.repo}/contents/{quote(path, safe='/')}"
                    f"?ref={quote(revision, safe='')}"
                )
                headers = {
                    "Authorization": f"token {token}",
                    "Accept": "application/vnd.github.raw+json",
                }
                lfs.stream(session, "GET", url, dest, headers=headers, timeout=self.timeout)
                pointer = lfs.read_pointer(dest)
                if pointer is None:
                    local.append(path)
                    continue
                dest.unlink()  # a pointer is not the file: never review it as one
                if max_bytes is not None and pointer[1] > max_bytes:
                    skipped[path] = f"larger than {max_bytes:,} bytes (Git LFS)"
                else:
                    pointers[path] = pointer
            remote: dict[str, RemoteBlob] = {}
            if pointers:
                actions = lfs.download_actions(
                    session, html_url, token, pointers, timeout=self.timeout
                )
                for path, (oid, size) in pointers.items():
                    href, headers = actions[path]
                    if lfs.stays_remote(size, remote_min_bytes):
                        remote[path] = RemoteBlob(href, size=size, sha256=oid, headers=headers)
                        continue
                    digest, written = lfs.stream(
                        session,
                        "GET",
                        href,
                        safe_destination(workdir, path),
                        headers=headers,
                        timeout=self.timeout,
                    )
                    if digest != oid or written != size:
                        # fail closed: what we would review is not what the pointer names
                        raise PermanentError(f"LFS object for {path} does not match its pointer")
                    local.append(path)
        finally:
            session.close()
        return Fetched(
            paths=local,
            sha256={path: oid for path, (oid, _size) in pointers.items()},
            skipped=skipped,
            remote=remote,
        )

    # -- verdict ----------------------------------------------------------------------------

    def find_verdict(self, ref: ContributionRef) -> str | None:
        with github_errors():
            comment = self.verdicts.sticky(self._repo(ref), ref.number)
        return None if comment is None else str(comment.body)

    def published(self, ref: ContributionRef, head_sha: str) -> bool:
        with github_errors():
            return self.verdicts.published(self._repo(ref), ref.number, head_sha)

    def begin(self, ref: ContributionRef, head_sha: str) -> None:
        """Show an in-progress check run while the review runs (reused if one is open)."""
        with github_errors():
            self.verdicts.begin(self._repo(ref), ref.key, head_sha)

    def cancel(self, ref: ContributionRef, head_sha: str) -> None:
        with github_errors():
            self.verdicts.cancel(self._repo(ref), head_sha)

    def publish(self, ref: ContributionRef, publication: Publication) -> None:
        """The sticky comment (unless the publication keeps quiet), the verdict label, then the
        completed check run: completed last, the run says the whole verdict is out."""
        repo = self._repo(ref)
        with github_errors():
            if publication.comment:
                self.verdicts.post_comment(repo, ref.number, publication.body)
            # whether or not the comment speaks: a quiet pass may still have a line to add; and
            # before the run completes, so a retry after a failure here finishes the job
            pull = repo.get_pull(ref.number)
            publish_suggestions(repo, pull, publication.head_sha, publication.fixes)
            if publication.verdict in ("pass", "warn", "fail"):
                self.verdicts.set_label(repo, ref.number, publication.verdict)
            self.verdicts.complete_run(repo, ref.key, publication)

    def react(self, ref: ContributionRef, comment_id: int, content: str) -> None:
        """One reaction of ours on a comment; GitHub answers an existing one with 200, so a
        retried job does not stack them."""
        with github_errors():
            # both lookups are lazy in PyGithub: this is the POST alone
            issue = self._repo(ref).get_issue(ref.number)
            issue.get_comment(comment_id).create_reaction(content)

    # -- triage -----------------------------------------------------------------------------

    def open_contributions(
        self, ref: ContributionRef, *, with_verdicts: bool
    ) -> list[ContributionRow]:
        """The repository's open pull requests as ``ContributionRow``s (``ref.number`` unused)."""
        from reviewbot.platforms.github.listing import open_pull_rows

        with github_errors():
            return open_pull_rows(self._repo(ref), with_verdicts=with_verdicts)

    def write_dashboard(self, ref: ContributionRef, body: str) -> int:
        """Create or edit the repository's one dashboard issue; returns its number."""
        with github_errors():
            return self.dashboards.write(self._repo(ref), body)

    def contribution_meta(self, ref: ContributionRef) -> ContributionMeta:
        from reviewbot.platforms.github.listing import pull_meta

        pull = self._read.get((ref.repo, ref.number)) or self._pull(ref)
        with github_errors():
            return pull_meta(ref.repo, pull)

    # -- permissions ------------------------------------------------------------------------

    def may_recheck(self, ref: ContributionRef, user: str) -> bool:
        with github_errors():
            # ``user`` is always a login: an all-digit one is a login too, never a user id
            try:
                permission = self._repo(ref).get_collaborator_permission(user)
            except GithubException as exc:
                if exc.status == 404:  # not a user GitHub knows: certainly not a collaborator
                    return False
                raise
        return permission in RECHECK_PERMISSIONS
