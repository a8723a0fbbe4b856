"""A stateful fake GitHub REST API on 127.0.0.1 for PyGithub's real client (and Git LFS).

Responses are built from real recorded GitHub responses in ``../shared/fixtures/github-api`` with
every ``api.github.com`` / ``github.com`` URL rewritten to the fake's own address: PyGithub refuses
to follow a URL on another host. Routes: installation tokens (JWT checked against the App's
public key), repository installation, repos, pulls, pull files (paginated with ``Link``), contents
(raw) at a commit and folder listings, collaborator permission, users by id, issue comments
list/create/edit, check runs list/create/update (at most 50 annotations per request and three
requested actions, as GitHub), issue labels, pull-request reviews (list, create with line
comments checked against the diff, edit the body), review comments (list, delete), git trees
(file modes, ``recursive=1``) and blobs, the LFS batch endpoint and its object downloads.
Symbolic links (``open_pull``/``push`` ``links=``) are committed as git does, a blob holding the
target with mode 120000; the contents API follows one to a file of the repository and describes
any other (``"type": "symlink"``), as GitHub documents.
Pull-request files carry a unified-diff ``patch`` for text files, as GitHub lists them.
``add_repo(files=...)`` seeds the base branch: a pull request's head starts from it and its
``base.sha`` names it. Every request is recorded; ``fail`` injects errors.

The App's user-to-server OAuth too (``add_oauth_client``): ``GET /login/oauth/authorize`` signs in
``web_user`` without a page and redirects (302) to ``redirect_uri`` with ``code`` and ``state``;
``POST /login/oauth/access_token`` trades a code once for a ``ghu_`` user token (GitHub's
``{"error": "bad_verification_code"}`` otherwise). With that token ``GET /user`` names the user,
``GET /repos/{o}/{r}`` answers 404 for a private repository (``add_repo(private=True)``) the
user is not a collaborator on, and the collaborator permission route answers as for the App.

The GitHub App manifest flow too: the web form ``POST /settings/apps/new`` (and
``/organizations/{org}/settings/apps/new``) records the ``manifest`` field it is sent and
redirects (302) straight to the manifest's ``redirect_url`` with ``code`` and ``state``, skipping
the page where a person confirms; ``POST /app-manifests/{code}/conversions`` then answers as GitHub
does (id, slug, html_url, owner, pem, webhook_secret, client_id, client_secret, ...) once per code:
404 for an unknown code, 422 for a used one. The App it creates gets a fresh RSA key, and JWTs
signed with it are accepted from then on, so the credentials it hands out work against this fake.

Files are ``bytes`` or a :class:`~tests.fakes.blobs.Blob` (a file on disk, never read whole). LFS
object downloads honour ``Range`` (206, or 416); the contents API answers whole bodies, as
GitHub's does. ``bytes_served``, ``file_requests`` and ``bytes_by_path`` count file-content
responses (raw contents keyed ``owner/repo/path``, LFS objects keyed by oid); ``reset_counters``.
"""

from __future__ import annotations

import base64
import copy
import difflib
import hashlib
import io
import json
import posixpath
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.blobs import Blob, CountsTransfers, Transfers, lfs_pointer, send_blob

REPLAY = "fixtures/github-api/github_rest_pygithub-replaydata"
BOT_LOGIN = "reviewbot[bot]"
REACTIONS = frozenset({"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"})
PER_PAGE_MAX = 100
FILES_CAP = 3000  # GitHub's pull-request files endpoint never lists more
INLINE_MAX = 1 << 20  # the contents API leaves out a bigger file's content unless asked raw

__all__ = ["Blob", "FakeGitHub", "lfs_pointer", "serve"]

# The events a GitHub App may subscribe to (GitHub's docs list them in every payload's
# ``app.events``). ``installation`` and ``installation_repositories`` are not among them: every
# App receives those anyway, and GitHub rejects a manifest that lists them.
APP_EVENTS = frozenset(
    (
        "branch_protection_rule",
        "check_run",
        "check_suite",
        "code_scanning_alert",
        "commit_comment",
        "content_reference",
        "create",
        "delete",
        "deployment",
        "deployment_review",
        "deployment_status",
        "deploy_key",
        "discussion",
        "discussion_comment",
        "fork",
        "gollum",
        "issues",
        "issue_comment",
        "label",
        "member",
        "membership",
        "milestone",
        "organization",
        "org_block",
        "page_build",
        "project",
        "project_card",
        "project_column",
        "public",
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "push",
        "registry_package",
        "release",
        "repository",
        "repository_dispatch",
        "secret_scanning_alert",
        "star",
        "status",
        "team",
        "team_add",
        "watch",
        "workflow_dispatch",
        "workflow_run",
        "merge_group",
        "pull_request_review_thread",
        "workflow_job",
        "merge_queue_entry",
        "security_and_analysis",
        "projects_v2_item",
        "secret_scanning_alert_location",
    )
)
MANIFEST_CODE_TTL = timedelta(hours=1)  # GitHub's limit for the whole flow


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int = 0


@dataclass
class Failure:
    """A fault rule for one route: what the next ``times`` matching requests get instead."""

    method: str
    pattern: re.Pattern[str]
    status: int | None  # None: the real answer (with ``delay``, a slow route)
    times: int
    headers: dict[str, str]
    body: dict[str, Any]
    delay: float = 0.0  # seconds before answering
    after: bool = False  # do the work first, then answer ``status``: "created, but 502"
    drop: bool = False  # promise a body, send half of it, and hang up
    then: Callable[[], object] | None = None  # runs once the fault was served: a push meanwhile


@dataclass
class ManifestForm:
    """One manifest posted to the web form, and the code GitHub's redirect carried for it."""

    org: str | None
    manifest: dict[str, Any]
    state: str | None
    code: str
    issued: datetime
    used: bool = False


@dataclass
class Pull:
    number: int
    head_sha: str
    files: dict[str, Blob]  # path -> blob as committed (an LFS pointer for LFS files)
    status: dict[str, str]
    state: str = "open"
    listed_total: int | None = None  # pretend the PR changes more files than it lists
    title: str = ""  # empty: the recorded template's
    author: str = ""
    first_time: bool = False
    labels: list[str] = field(default_factory=list)
    association: str = ""  # GitHub's author_association as given (else from ``first_time``)


@dataclass
class Repo:
    full_name: str
    id: int
    installation_id: int
    pulls: dict[int, Pull] = field(default_factory=dict)
    blobs: dict[str, dict[str, Blob]] = field(default_factory=dict)  # sha -> path -> blob
    symlinks: dict[str, frozenset[str]] = field(default_factory=dict)  # sha -> paths that link
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    check_runs: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[int, list[str]] = field(default_factory=dict)
    permissions: dict[str, str] = field(default_factory=dict)
    reactions: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # comment id ->
    base_sha: str = ""  # the base branch's commit that pull requests are opened against
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)  # number -> issue JSON
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # pull -> reviews
    review_comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # pull ->
    private: bool = False  # then only its collaborators (``permissions``) see it

    def visible_to(self, login: str) -> bool:
        return not self.private or login in self.permissions


class FakeGitHub(CountsTransfers):
    """State of the fake: repositories, pull requests, what the bot posted, and a request log."""

    def __init__(self, shared: Path, app_id: int, public_key_pem: str) -> None:
        self.shared = shared
        self.app_id = app_id
        self.public_key = public_key_pem
        self.base_url = ""
        self.repos: dict[str, Repo] = {}
        self.lfs_objects: dict[str, bytes | Blob] = {}  # oid -> object
        self.tokens: dict[str, datetime] = {}
        # Apps whose JWTs are accepted, by id: ours, and any the manifest flow created.
        self.app_keys: dict[int, str] = {app_id: public_key_pem}
        self.manifests: list[ManifestForm] = []
        self.created_apps: dict[int, dict[str, Any]] = {}  # the conversion answers, secrets too
        self.web_user = "octocat"  # who is signed in on the web side
        self.oauth_clients: dict[str, str] = {}  # client id -> client secret
        self.oauth_codes: dict[str, tuple[str, str, str]] = {}  # code -> login, client, redirect
        self.user_tokens: dict[str, str] = {}  # ghu_ token -> login
        self.users: dict[int, str] = {}
        self.log: list[Recorded] = []
        self.failures: list[Failure] = []
        self.lock = threading.RLock()
        self.transfers = Transfers()
        self._hold: re.Pattern[str] | None = None
        self._held = 0
        self._release = threading.Event()
        self._ids = iter(range(5_000_000, 10**9))
        self._templates = self._load_templates()

    # -- seeding ----------------------------------------------------------------------------

    def _load_templates(self) -> dict[str, Any]:
        def replay(name: str, index: int = 0) -> Any:
            data = json.loads((self.shared / REPLAY / f"{name}.json").read_text("utf-8"))
            return data[index]["response_body"]

        return {
            "token": replay("GithubIntegration.testGetAccessToken"),
            "installation": replay("GithubIntegration.testGetRepoInstallation"),
            "repo": replay("PullRequest.setUp", 0),
            "pull": replay("PullRequest.setUp", 1),
            "file": replay("PullRequest.testGetFiles")[0],
            "comment": replay("PullRequest.testCreateIssueComment"),
            "check_run": replay("CheckRun.testCreateCheckRunCompleted"),
            "permission": replay("Repository.testCollaboratorPermission"),
            "label": replay("Issue.testAddAndRemoveLabelsWithStringArguments")[0],
        }

    def _template(self, name: str) -> Any:
        return self._rewrite(copy.deepcopy(self._templates[name]))

    def _rewrite(self, value: Any) -> Any:
        """Point every recorded URL at this server, as PyGithub insists on one host."""
        if isinstance(value, dict):
            return {k: self._rewrite(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._rewrite(v) for v in value]
        if isinstance(value, str):
            for host in ("https://api.github.com", "https://github.com"):
                value = value.replace(host, self.base_url)
        return value

    def _next_id(self) -> int:
        return next(self._ids)

    def add_repo(
        self,
        full_name: str,
        *,
        installation_id: int = 4242,
        permissions: Mapping[str, str] | None = None,
        files: Mapping[str, bytes | Blob] | None = None,
        lfs: frozenset[str] = frozenset(),
        private: bool = False,
    ) -> Repo:
        """A repository whose base branch holds ``files`` (paths in ``lfs`` stored in LFS)."""
        repo = Repo(
            full_name,
            self._next_id(),
            installation_id,
            permissions=dict(permissions or {}),
            private=private,
        )
        blobs = {path: self._store(path, data, lfs) for path, data in (files or {}).items()}
        repo.base_sha = self._commit_sha(blobs)
        repo.blobs[repo.base_sha] = blobs
        self.repos[full_name] = repo
        return repo

    def add_oauth_client(self, client_id: str, client_secret: str) -> None:
        """The App's OAuth client, so sign-ins with this id and secret succeed."""
        with self.lock:
            self.oauth_clients[client_id] = client_secret

    def _store(self, path: str, data: bytes | Blob, lfs: frozenset[str]) -> Blob:
        """The blob as committed: LFS paths keep their object aside and commit a pointer."""
        blob = Blob.coerce(data)
        if path not in lfs:
            return blob
        self.lfs_objects[blob.sha256] = blob
        return Blob.of_bytes(lfs_pointer(blob))

    def add_lfs_object(self, data: bytes | Blob) -> str:
        """Put an object in LFS storage without committing a pointer; returns its oid."""
        blob = Blob.coerce(data)
        with self.lock:
            self.lfs_objects[blob.sha256] = blob
        return blob.sha256

    def lfs_object(self, oid: str) -> Blob:
        """The stored object (KeyError when there is none)."""
        blob = Blob.coerce(self.lfs_objects[oid])
        self.lfs_objects[oid] = blob  # once made a Blob, its hashes are kept
        return blob

    @staticmethod
    def _commit_sha(blobs: Mapping[str, Blob]) -> str:
        # The random part already makes every commit new, so paths and sizes will do: hashing
        # contents here would read a big file committed outside LFS in full at every push.
        return hashlib.sha1(
            json.dumps(sorted((p, b.size) for p, b in blobs.items())).encode()
            + secrets.token_bytes(8),
            usedforsecurity=False,
        ).hexdigest()

    def open_pull(
        self,
        full_name: str,
        number: int,
        files: Mapping[str, bytes | Blob],
        *,
        lfs: frozenset[str] = frozenset(),
        links: Mapping[str, str] | None = None,
    ) -> str:
        """Open a pull request whose head adds ``files`` (and symbolic ``links``, path ->
        target); paths in ``lfs`` are stored in LFS."""
        repo = self.repos[full_name]
        # the head starts as the base branch: unchanged files are there, but not listed
        pull = Pull(number, "", dict(repo.blobs.get(repo.base_sha, {})), {})
        repo.pulls[number] = pull
        return self.push(full_name, number, files, lfs=lfs, links=links)

    def push(
        self,
        full_name: str,
        number: int,
        files: Mapping[str, bytes | Blob],
        *,
        lfs: frozenset[str] = frozenset(),
        removed: frozenset[str] = frozenset(),
        links: Mapping[str, str] | None = None,
    ) -> str:
        """A new commit on the pull request's head; returns its sha. ``links`` adds symbolic
        links (path -> target), committed as git does: a blob holding the target, mode 120000."""
        with self.lock:
            repo = self.repos[full_name]
            pull = repo.pulls[number]
            blobs = dict(pull.files)
            linked = set(repo.symlinks.get(pull.head_sha or repo.base_sha, frozenset()))
            changes: dict[str, bytes | Blob] = {
                **files,
                **{p: t.encode() for p, t in (links or {}).items()},
            }
            for path, data in changes.items():
                pull.status[path] = "modified" if path in blobs else "added"
                blobs[path] = self._store(path, data, lfs if path in files else frozenset())
                linked.discard(path)
            linked.update(links or {})
            for path in removed:
                blobs.pop(path, None)
                linked.discard(path)
                pull.status[path] = "removed"
            sha = self._commit_sha(blobs)
            pull.files, pull.head_sha = blobs, sha
            repo.blobs[sha] = blobs
            repo.symlinks[sha] = frozenset(linked)
            return sha

    def fail(
        self,
        method: str,
        path_regex: str,
        status: int | None,
        *,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        delay: float = 0.0,
        after: bool = False,
        drop: bool = False,
        then: Callable[[], object] | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` instead (None: the real
        answer), after ``delay`` seconds; ``after`` does the request's work first (a create that
        happened but answered 5xx); ``drop`` closes the connection halfway through the body;
        ``then`` is called after each faulty answer (say, a push while the bot waits)."""
        with self.lock:
            self.failures.append(
                Failure(
                    method,
                    re.compile(path_regex),
                    status,
                    times,
                    dict(headers or {}),
                    dict(body or {"message": "Server Error"}),
                    delay,
                    after,
                    drop,
                    then,
                )
            )

    def slow(self, method: str, path_regex: str, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` matching requests get their real answer ``seconds`` late."""
        self.fail(method, path_regex, None, times=times, delay=seconds)

    def hold(self, path_regex: str) -> None:
        """Stall matching requests until ``release``: a review frozen mid-download."""
        self._release.clear()
        self._hold, self._held = re.compile(path_regex), 0

    def held(self) -> int:
        return self._held

    def release(self) -> None:
        self._hold = None
        self._release.set()

    def app_json(self, app_id: int | None = None, slug: str = "reviewbot") -> dict[str, Any]:
        """The ``performed_via_github_app`` object of a comment an App wrote (by default ours)."""
        return {
            "id": self.app_id if app_id is None else app_id,
            "slug": slug,
            "name": slug,
            "node_id": f"A_{slug}",
            "html_url": f"{self.base_url}/apps/{slug}",
        }

    def add_comment(
        self,
        full_name: str,
        number: int,
        body: str,
        *,
        login: str,
        app_id: int | None = None,
        slug: str = "other-app",
    ) -> dict[str, Any]:
        """A comment someone else wrote (another App when ``login`` ends in ``[bot]``)."""
        repo = self.repos[full_name]
        cid = self._next_id()
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        comment: dict[str, Any] = self._template("comment")
        user: dict[str, Any] = copy.deepcopy(comment["user"])
        user.update(
            login=login,
            id=abs(hash(login)) % 10**7,
            type="Bot" if login.endswith("[bot]") else "User",
            url=f"{self.base_url}/users/{quote(login)}",
        )
        bot = login.endswith("[bot]")
        comment.update(
            id=cid,
            body=body,
            user=user,
            created_at=now,
            updated_at=now,
            url=f"{self.base_url}/repos/{full_name}/issues/comments/{cid}",
            issue_url=f"{self.base_url}/repos/{full_name}/issues/{number}",
            html_url=f"{self.base_url}/{full_name}/pull/{number}#issuecomment-{cid}",
            performed_via_github_app=self.app_json(app_id or 999_999, slug) if bot else None,
            edits=0,
        )
        with self.lock:
            repo.comments.setdefault(number, []).append(comment)
        return comment

    def add_foreign_run(
        self,
        full_name: str,
        head_sha: str,
        *,
        name: str = "reviewbot",
        status: str = "in_progress",
        app_id: int = 777_777,
    ) -> dict[str, Any]:
        """A check run another App (a contributor's workflow, say) made on ``head_sha``."""
        run: dict[str, Any] = self._template("check_run")
        rid = self._next_id()
        run.update(
            id=rid,
            name=name,
            head_sha=head_sha,
            external_id="",
            status=status,
            conclusion=None if status != "completed" else "success",
            url=f"{self.base_url}/repos/{full_name}/check-runs/{rid}",
            output={"title": None, "summary": None, "annotations_count": 0},
            pull_requests=[],
            annotations=[],
            requests=1,
            app=self.app_json(app_id, "github-actions"),
        )
        with self.lock:
            self.repos[full_name].check_runs.append(run)
        return run

    def our_runs(self, full_name: str, head_sha: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.runs(full_name, head_sha) if r["app"]["id"] == self.app_id]

    # -- what tests assert on ---------------------------------------------------------------

    def comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        return self.repos[full_name].comments.get(number, [])

    def labels(self, full_name: str, number: int) -> list[str]:
        return self.repos[full_name].labels.get(number, [])

    def issues(self, full_name: str, *, state: str = "open") -> list[dict[str, Any]]:
        issues = self.repos[full_name].issues.values()
        return [i for i in issues if state == "all" or i["state"] == state]

    def add_issue(self, full_name: str, title: str, body: str, *, login: str) -> dict[str, Any]:
        """An issue someone else opened (another App's when ``login`` ends in ``[bot]``)."""
        bot = login.endswith("[bot]")
        app = self.app_json(999_999, "other-app") if bot else None
        return self._new_issue(self.repos[full_name], title, body, login, app)

    def _new_issue(
        self, repo: Repo, title: str, body: str, login: str, app: dict[str, Any] | None
    ) -> dict[str, Any]:
        with self.lock:
            number = max([0, *repo.pulls, *repo.issues]) + 1
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            user: dict[str, Any] = copy.deepcopy(self._template("comment")["user"])
            user.update(
                login=login,
                id=abs(hash(login)) % 10**7,
                type="Bot" if login.endswith("[bot]") else "User",
                url=f"{self.base_url}/users/{quote(login)}",
            )
            api = f"{self.base_url}/repos/{repo.full_name}"
            issue: dict[str, Any] = {
                "id": self._next_id(),
                "node_id": f"I_{number}",
                "number": number,
                "title": title,
                "body": body,
                "state": "open",
                "locked": False,
                "user": user,
                "labels": [],
                "assignees": [],
                "comments": 0,
                "url": f"{api}/issues/{number}",
                "html_url": f"{self.base_url}/{repo.full_name}/issues/{number}",
                "comments_url": f"{api}/issues/{number}/comments",
                "created_at": now,
                "updated_at": now,
                "closed_at": None,
                "performed_via_github_app": app,
                "author_association": "NONE",
            }
            repo.issues[number] = issue
            return issue

    def reactions(self, full_name: str, comment_id: int) -> list[str]:
        """The reactions on a comment, oldest first, as ``login:content``."""
        found = self.repos[full_name].reactions.get(comment_id, [])
        return [f"{r['user']['login']}:{r['content']}" for r in found]

    def reviews(self, full_name: str, number: int) -> list[dict[str, Any]]:
        return self.repos[full_name].reviews.get(number, [])

    def review_comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        return self.repos[full_name].review_comments.get(number, [])

    def file_text(self, full_name: str, number: int, path: str) -> str | None:
        """A file's text at the pull request's head (None when it has no such file)."""
        blob = self.repos[full_name].pulls[number].files.get(path)
        return None if blob is None else blob.read().decode("utf-8")

    def runs(self, full_name: str, head_sha: str | None = None) -> list[dict[str, Any]]:
        runs = self.repos[full_name].check_runs
        return [r for r in runs if head_sha is None or r["head_sha"] == head_sha]

    def requests(self, method: str, path_regex: str) -> list[Recorded]:
        pattern = re.compile(path_regex)
        return [r for r in self.log if r.method == method and pattern.search(r.path)]


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def _text_patch(repo: Repo, pull: Pull, path: str) -> str | None:
    """GitHub's ``patch`` for a text file: the unified diff's hunks, without file headers."""
    head = pull.files.get(path)
    if head is None or head.size > INLINE_MAX:
        return None
    base = repo.blobs.get(repo.base_sha, {}).get(path)
    try:
        new = head.read().decode("utf-8")
        old = base.read().decode("utf-8") if base is not None and base.size <= INLINE_MAX else ""
    except UnicodeDecodeError:
        return None
    if "\0" in new:
        return None
    diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=3))
    return "\n".join(diff[2:]) if diff else None


def _head_lines(patch: str | None) -> set[int]:
    """The head-side lines a patch shows (added and context), where a review may comment."""
    lines: set[int] = set()
    current = 0
    for raw in (patch or "").splitlines():
        hunk = _HUNK.match(raw)
        if hunk:
            current = int(hunk.group(1))
        elif current and raw[:1] in ("+", " "):
            lines.add(current)
            current += 1
    return lines


def app_key_pair() -> tuple[str, str]:
    """A fresh GitHub App key pair (private PKCS#8 PEM, public PEM) for the fake to trust."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


def make_handler(gh: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def do_GET(self) -> None:
            self._dispatch()

        def do_POST(self) -> None:
            self._dispatch()

        def do_PATCH(self) -> None:
            self._dispatch()

        def do_DELETE(self) -> None:
            self._dispatch()

        def do_PUT(self) -> None:
            self._dispatch()

        # -- plumbing ---------------------------------------------------------------------

        def _dispatch(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body: Any = None
            if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                body = parse_qs(raw.decode("utf-8", "replace"))  # a browser's form post
            else:
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
            record = Recorded(self.command, url.path, parse_qs(url.query), body)
            hold = gh._hold
            if hold is not None and hold.search(url.path):
                gh._held += 1
                gh._release.wait(timeout=60)
                self.close_connection = True
                return  # the client that asked is gone by now: answer nothing
            with gh.lock:
                gh.log.append(record)
                failure = self._injected(url.path)
            if failure is not None and self._fault(failure, url.path, record):
                return
            self._route_or_404(url.path, record)

        def _route_or_404(self, path: str, record: Recorded) -> None:
            try:
                self._route(path, record)
            except KeyError:
                self._json(404, {"message": "Not Found"}, record=record)

        def _fault(self, failure: Failure, path: str, record: Recorded) -> bool:
            """Apply a fault rule; False: the real answer is still to be sent."""
            if failure.delay:
                time.sleep(failure.delay)
            if failure.after:
                real, self.wfile = self.wfile, io.BytesIO()  # do the work, discard its answer
                try:
                    self._route_or_404(path, record)
                finally:
                    self.wfile = real
            if failure.drop:
                self.send_response(failure.status or 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "4096")
                self.end_headers()
                self.wfile.write(b'{"message": "half')
                self.wfile.flush()
                self.close_connection = True
                return True
            if failure.status is None:
                return False
            self._json(failure.status, failure.body, headers=failure.headers, record=record)
            if failure.then is not None:
                failure.then()
            return True

        def _injected(self, path: str) -> Failure | None:
            for failure in gh.failures:
                if failure.method == self.command and failure.pattern.search(path):
                    failure.times -= 1
                    if failure.times <= 0:
                        gh.failures.remove(failure)
                    return failure
            return None

        def _json(
            self,
            status: int,
            body: Any,
            *,
            record: Recorded,
            headers: Mapping[str, str] | None = None,
        ) -> None:
            record.status = status
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def _blob(self, blob: Blob, *, key: str, ranges: bool, record: Recorded) -> None:
            record.status = send_blob(self, blob, key=key, transfers=gh.transfers, ranges=ranges)

        def _token_ok(self) -> bool:
            value = self.headers.get("Authorization", "")
            token = value.removeprefix("token ").removeprefix("Bearer ")
            expiry = gh.tokens.get(token)
            return expiry is not None and expiry > datetime.now(UTC)

        def _user_login(self) -> str | None:
            """The login a ``ghu_`` user token was issued to, or None."""
            value = self.headers.get("Authorization", "")
            token = value.removeprefix("token ").removeprefix("Bearer ")
            return gh.user_tokens.get(token) if token.startswith("ghu_") else None

        def _jwt_ok(self) -> bool:
            value = self.headers.get("Authorization", "")
            if not value.startswith("Bearer "):
                return False
            try:
                # the issuer picks the key; the signature is then checked against that App's key
                issuer = jwt.decode(value[7:], options={"verify_signature": False}).get("iss")
                key = gh.app_keys.get(int(issuer))
                if key is None:
                    return False
                claims = jwt.decode(value[7:], key, algorithms=["RS256"])
            except (jwt.PyJWTError, TypeError, ValueError):
                return False
            return str(claims.get("iss")) == str(issuer)

        # -- routes -----------------------------------------------------------------------

        def _route(self, path: str, rec: Recorded) -> None:
            parts = [unquote(p) for p in path.strip("/").split("/")]
            method = self.command
            if parts[:2] == ["app", "installations"] and parts[3:] == ["access_tokens"]:
                return self._access_token(int(parts[2]), rec)
            if method == "POST" and parts in (
                ["settings", "apps", "new"],
                ["organizations", parts[1] if len(parts) > 1 else "", "settings", "apps", "new"],
            ):
                return self._manifest_form(parts[1] if parts[0] == "organizations" else None, rec)
            if method == "POST" and parts[0] == "app-manifests" and parts[2:] == ["conversions"]:
                return self._manifest_conversion(parts[1], rec)
            if parts == ["login", "oauth", "authorize"] and method == "GET":
                return self._oauth_authorize(rec)
            if parts == ["login", "oauth", "access_token"] and method == "POST":
                return self._oauth_token(rec)
            if parts == ["user"] and method == "GET":
                login = self._user_login()
                if login is None:
                    return self._json(401, {"message": "Requires authentication"}, record=rec)
                return self._json(200, self._user(login), record=rec)
            if parts[0] == "lfs-objects" and method == "GET":
                return self._lfs_object(parts[1], rec)
            if (
                len(parts) == 6
                and parts[1].endswith(".git")
                and parts[2:]
                == [
                    "info",
                    "lfs",
                    "objects",
                    "batch",
                ]
            ):
                return self._lfs_batch(f"{parts[0]}/{parts[1][:-4]}", rec)
            if parts[0] == "repos" and len(parts) >= 3:
                repo = gh.repos[f"{parts[1]}/{parts[2]}"]
                if parts[3:] == ["installation"]:
                    if not self._jwt_ok():
                        return self._json(401, {"message": "Bad credentials"}, record=rec)
                    inst = gh._template("installation")
                    inst["id"] = repo.installation_id
                    return self._json(200, inst, record=rec)
                login = self._user_login()
                if login is not None:
                    return self._repo_as_user(repo, login, parts[3:], rec)
                if not self._token_ok():
                    return self._json(401, {"message": "Bad credentials"}, record=rec)
                return self._repo_route(repo, parts[3:], rec)
            if parts[0] == "user" and len(parts) == 2 and self._token_ok():
                uid = int(parts[1])
                return self._json(200, self._user(gh.users[uid], uid), record=rec)
            self._json(404, {"message": "Not Found"}, record=rec)

        def _repo_as_user(self, repo: Repo, login: str, rest: list[str], rec: Recorded) -> None:
            """What a user token may read: the repository, a collaborator's permission."""
            if not repo.visible_to(login):
                return self._json(404, {"message": "Not Found"}, record=rec)
            if self.command == "GET" and not rest:
                data = self._repo_json(repo)
                data["private"] = repo.private
                return self._json(200, data, record=rec)
            if (
                self.command == "GET"
                and rest[:1] == ["collaborators"]
                and rest[2:] == ["permission"]
            ):
                return self._permission(repo, rest[1], rec)
            self._json(403, {"message": "Resource not accessible by integration"}, record=rec)

        def _oauth_authorize(self, rec: Recorded) -> None:
            """GitHub's authorize page, with ``web_user`` signed in and already consenting."""
            client_id = (rec.query.get("client_id") or [""])[0]
            redirect = (rec.query.get("redirect_uri") or [""])[0]
            state = (rec.query.get("state") or [None])[0]
            if client_id not in gh.oauth_clients or not redirect:
                return self._json(404, {"message": "Not Found"}, record=rec)
            code = secrets.token_hex(10)
            with gh.lock:
                gh.oauth_codes[code] = (gh.web_user, client_id, redirect)
            params = {"code": code, **({"state": state} if state is not None else {})}
            location = redirect + ("&" if "?" in redirect else "?") + urlencode(params)
            rec.status = 302
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _oauth_token(self, rec: Recorded) -> None:
            form = rec.body if isinstance(rec.body, dict) else {}

            def field(name: str) -> str:
                value = form.get(name)
                return str(value[0] if isinstance(value, list) else value or "")

            client_id, code = field("client_id"), field("code")
            with gh.lock:
                issued = gh.oauth_codes.pop(code, None)
                secret = gh.oauth_clients.get(client_id)
            if secret is None or not secrets.compare_digest(secret, field("client_secret")):
                body = {"error": "incorrect_client_credentials"}
                return self._json(200, body, record=rec)
            if issued is None or issued[1] != client_id or issued[2] != field("redirect_uri"):
                return self._json(200, {"error": "bad_verification_code"}, record=rec)
            token = "ghu_" + secrets.token_hex(18)
            with gh.lock:
                gh.user_tokens[token] = issued[0]
            body = {"access_token": token, "token_type": "bearer", "scope": ""}
            self._json(200, body, record=rec)

        def _access_token(self, installation_id: int, rec: Recorded) -> None:
            if not self._jwt_ok():
                return self._json(
                    401, {"message": "A JSON web token could not be decoded"}, record=rec
                )
            body = gh._template("token")
            token = "ghs_" + secrets.token_hex(18)
            expires = datetime.now(UTC) + timedelta(hours=1)
            with gh.lock:
                gh.tokens[token] = expires
            body.update(token=token, expires_at=expires.strftime("%Y-%m-%dT%H:%M:%SZ"))
            self._json(201, body, record=rec)

        def _manifest_form(self, org: str | None, rec: Recorded) -> None:
            """The web form of the manifest flow, without the page a person confirms on."""
            form = rec.body if isinstance(rec.body, dict) else {}
            try:
                manifest = json.loads((form.get("manifest") or [""])[0])
            except ValueError:
                manifest = None
            problem = self._manifest_problem(manifest)
            if problem:
                return self._json(422, {"message": problem}, record=rec)
            state = (rec.query.get("state") or [None])[0]
            code = secrets.token_hex(20)
            with gh.lock:
                gh.manifests.append(ManifestForm(org, manifest, state, code, datetime.now(UTC)))
            params = {"code": code, **({"state": state} if state is not None else {})}
            target = manifest["redirect_url"]
            location = target + ("&" if "?" in target else "?") + urlencode(params)
            rec.status = 302
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        @staticmethod
        def _manifest_problem(manifest: Any) -> str:
            if not isinstance(manifest, dict):
                return "manifest is not a JSON object"
            if not manifest.get("url"):
                return "manifest: url is required"
            hook = manifest.get("hook_attributes")
            if hook is not None and not (isinstance(hook, dict) and hook.get("url")):
                return "manifest: hook_attributes.url is required"
            if not manifest.get("redirect_url"):
                return "manifest: this fake needs a redirect_url to send the code to"
            events = set(manifest.get("default_events") or ())
            if events - APP_EVENTS:
                return f"manifest: unknown events {sorted(events - APP_EVENTS)}"
            permissions = manifest.get("default_permissions") or {}
            if not isinstance(permissions, dict) or any(
                v not in ("read", "write", "admin") for v in permissions.values()
            ):
                return "manifest: default_permissions must map names to read/write/admin"
            return ""

        def _manifest_conversion(self, code: str, rec: Recorded) -> None:
            with gh.lock:
                form = next((f for f in gh.manifests if f.code == code), None)
                if form is None:
                    return self._json(404, {"message": "Not Found"}, record=rec)
                if form.used or datetime.now(UTC) - form.issued > MANIFEST_CODE_TTL:
                    return self._json(422, {"message": "Validation Failed"}, record=rec)
                form.used = True
                app = self._create_app(form)
            self._json(201, app, record=rec)

        def _create_app(self, form: ManifestForm) -> dict[str, Any]:
            """The new App, as the conversion answers it; its key is GitHub's PKCS#1 PEM."""
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            ).decode()
            public = (
                key.public_key()
                .public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                .decode()
            )
            manifest = form.manifest
            app_id = gh._next_id()
            name = str(manifest.get("name") or f"app-{app_id}")
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or f"app-{app_id}"
            taken = {a["slug"] for a in gh.created_apps.values()}
            if slug in taken:  # GitHub would ask for another name; the fake numbers it
                slug = f"{slug}-{app_id}"
            owner = form.org or gh.web_user
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            permissions = {"metadata": "read", **(manifest.get("default_permissions") or {})}
            app = {
                "id": app_id,
                "slug": slug,
                "node_id": f"A_{slug}",
                "client_id": "Iv23li" + secrets.token_hex(7),
                "owner": {
                    **self._user(owner),
                    "type": "Organization" if form.org else "User",
                    "html_url": f"{gh.base_url}/{owner}",
                },
                "name": name,
                "description": manifest.get("description") or "",
                "external_url": manifest["url"],
                "html_url": f"{gh.base_url}/apps/{slug}",
                "created_at": now,
                "updated_at": now,
                "permissions": permissions,
                "events": list(manifest.get("default_events") or ()),
                "installations_count": 0,
                "client_secret": secrets.token_hex(20),
                "webhook_secret": secrets.token_hex(20),
                "pem": pem,
            }
            gh.app_keys[app_id] = public
            gh.created_apps[app_id] = app
            return app

        def _repo_route(self, repo: Repo, rest: list[str], rec: Recorded) -> None:
            method = self.command
            if not rest and method == "GET":
                return self._json(200, self._repo_json(repo), record=rec)
            if rest == ["pulls"] and method == "GET":
                return self._list_pulls(repo, rec)
            if rest == ["issues"]:
                return (
                    self._list_issues(repo, rec)
                    if method == "GET"
                    else self._create_issue(repo, rec)
                )
            if rest[:1] == ["issues"] and len(rest) == 2 and rest[1].isdigit():
                return self._issue(repo, int(rest[1]), rec)
            if rest[:1] == ["pulls"] and len(rest) == 2 and method == "GET":
                return self._json(200, self._pull_json(repo, repo.pulls[int(rest[1])]), record=rec)
            if rest[:1] == ["pulls"] and rest[2:] == ["files"] and method == "GET":
                return self._files(repo, repo.pulls[int(rest[1])], rec)
            if rest[:1] == ["pulls"] and rest[2:] == ["reviews"]:
                return self._reviews(repo, repo.pulls[int(rest[1])], rec)
            if (
                rest[:1] == ["pulls"]
                and rest[2:3] == ["reviews"]
                and len(rest) == 4
                and method == "PUT"
            ):
                return self._edit_review(repo, int(rest[1]), int(rest[3]), rec)
            if rest[:1] == ["pulls"] and rest[2:] == ["comments"] and method == "GET":
                found = repo.review_comments.get(int(rest[1]), [])
                return self._page(found, rec, urlsplit(self.path).path)
            if rest[:2] == ["pulls", "comments"] and len(rest) == 3 and method == "DELETE":
                return self._delete_review_comment(repo, int(rest[2]), rec)
            if rest[:1] == ["contents"] and method == "GET":
                return self._contents(repo, "/".join(rest[1:]), rec)
            if rest[:2] == ["git", "trees"] and len(rest) == 3 and method == "GET":
                return self._tree(repo, rest[2], rec)
            if rest[:2] == ["git", "blobs"] and len(rest) == 3 and method == "GET":
                return self._git_blob(repo, rest[2], rec)
            if rest[:1] == ["collaborators"] and rest[2:] == ["permission"]:
                return self._permission(repo, rest[1], rec)
            if rest[:2] == ["issues", "comments"] and len(rest) == 3 and method == "PATCH":
                return self._edit_comment(repo, int(rest[2]), rec)
            if (
                rest[:2] == ["issues", "comments"]
                and rest[3:] == ["reactions"]
                and method == "POST"
            ):
                return self._react(repo, int(rest[2]), rec)
            if rest[:1] == ["issues"] and rest[2:] == ["comments"]:
                return self._comments(repo, int(rest[1]), rec)
            if rest[:1] == ["issues"] and rest[2:3] == ["labels"]:
                return self._labels(repo, int(rest[1]), rest[3:], rec)
            if rest[:1] == ["commits"] and rest[2:] == ["check-runs"] and method == "GET":
                query = rec.query
                runs = [
                    r
                    for r in gh.runs(repo.full_name, rest[1])
                    if r["name"] in query.get("check_name", [r["name"]])
                    and str(r["app"]["id"]) in query.get("app_id", [str(r["app"]["id"])])
                    and r["status"] in query.get("status", [r["status"]])
                ]
                body = {"total_count": len(runs), "check_runs": runs}
                return self._json(200, body, record=rec)
            if rest == ["check-runs"] and method == "POST":
                return self._create_run(repo, rec)
            if rest[:1] == ["check-runs"] and len(rest) == 2 and method == "PATCH":
                return self._update_run(repo, int(rest[1]), rec)
            self._json(404, {"message": "Not Found"}, record=rec)

        def _list_pulls(self, repo: Repo, rec: Recorded) -> None:
            state = rec.query.get("state", ["open"])[0]
            pulls = [
                self._pull_json(repo, pull)
                for _, pull in sorted(repo.pulls.items())
                if state == "all" or pull.state == state
            ]
            self._page(pulls, rec, urlsplit(self.path).path)

        def _list_issues(self, repo: Repo, rec: Recorded) -> None:
            """Issues and, as on GitHub, pull requests (with a ``pull_request`` key)."""
            state = rec.query.get("state", ["open"])[0]
            creator = rec.query.get("creator", [None])[0]
            items: list[dict[str, Any]] = list(repo.issues.values())
            for pull in repo.pulls.values():
                data = self._pull_json(repo, pull)
                items.append({**data, "pull_request": {"url": data["url"]}})
            items = [
                item
                for item in sorted(items, key=lambda item: item["number"])
                if (state == "all" or item["state"] == state)
                and (creator is None or item["user"]["login"] == creator)
            ]
            self._page(items, rec, urlsplit(self.path).path)

        def _create_issue(self, repo: Repo, rec: Recorded) -> None:
            if self._token_ok():
                issue = gh._new_issue(
                    repo, rec.body["title"], rec.body.get("body") or "", BOT_LOGIN, gh.app_json()
                )
            else:
                issue = gh._new_issue(
                    repo, rec.body["title"], rec.body.get("body") or "", "someone", None
                )
            self._json(201, issue, record=rec)

        def _issue(self, repo: Repo, number: int, rec: Recorded) -> None:
            issue = repo.issues[number]
            if self.command == "PATCH":
                with gh.lock:
                    for key in ("title", "body", "state"):
                        if key in rec.body:
                            issue[key] = rec.body[key]
                    issue["updated_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._json(200, issue, record=rec)

        def _repo_json(self, repo: Repo) -> dict[str, Any]:
            data: dict[str, Any] = gh._template("repo")
            owner, name = repo.full_name.split("/")
            api = f"{gh.base_url}/repos/{repo.full_name}"
            data.update(
                id=repo.id,
                name=name,
                full_name=repo.full_name,
                url=api,
                html_url=f"{gh.base_url}/{repo.full_name}",
                issues_url=api + "/issues{/number}",
                pulls_url=api + "/pulls{/number}",
            )
            data["owner"]["login"] = owner
            return data

        def _pull_json(self, repo: Repo, pull: Pull) -> dict[str, Any]:
            data: dict[str, Any] = gh._template("pull")
            api = f"{gh.base_url}/repos/{repo.full_name}"
            total = pull.listed_total if pull.listed_total is not None else len(pull.status)
            data.update(
                number=pull.number,
                id=repo.id * 1000 + pull.number,
                state=pull.state,
                merged=False,
                url=f"{api}/pulls/{pull.number}",
                issue_url=f"{api}/issues/{pull.number}",
                comments_url=f"{api}/issues/{pull.number}/comments",
                html_url=f"{gh.base_url}/{repo.full_name}/pull/{pull.number}",
                changed_files=total,
            )
            if pull.title:
                data["title"] = pull.title
            if pull.author:
                data["user"] = self._user(pull.author)
                data["author_association"] = pull.association or (
                    "FIRST_TIME_CONTRIBUTOR" if pull.first_time else "CONTRIBUTOR"
                )
            labels = repo.labels.get(pull.number, pull.labels)
            if labels:
                template = gh._template("label")
                data["labels"] = [{**template, "name": name} for name in labels]
            data["head"]["sha"] = pull.head_sha
            data["base"]["sha"] = repo.base_sha
            data["head"]["repo"] = self._repo_json(repo)
            data["base"]["repo"] = self._repo_json(repo)
            return data

        def _page(self, items: list[Any], rec: Recorded, path: str) -> None:
            per_page = min(PER_PAGE_MAX, int(rec.query.get("per_page", ["30"])[0]))
            page = int(rec.query.get("page", ["1"])[0])
            chunk = items[(page - 1) * per_page : page * per_page]
            headers = {}
            last = max(1, -(-len(items) // per_page))
            if page < last:
                link = f"{gh.base_url}{path}?per_page={per_page}&page="
                headers["Link"] = f'<{link}{page + 1}>; rel="next", <{link}{last}>; rel="last"'
            self._json(200, chunk, headers=headers, record=rec)

        def _files(self, repo: Repo, pull: Pull, rec: Recorded) -> None:
            items = []
            for path, status in sorted(pull.status.items())[:FILES_CAP]:
                item = gh._template("file")
                blob = pull.files.get(path, Blob.of_bytes(b""))
                item.update(
                    filename=path,
                    status=status,
                    sha=blob.git_sha1,
                    additions=1,
                    deletions=0,
                    changes=1,
                    raw_url=f"{gh.base_url}/{repo.full_name}/raw/{pull.head_sha}/{quote(path)}",
                    blob_url=f"{gh.base_url}/{repo.full_name}/blob/{pull.head_sha}/{quote(path)}",
                    contents_url=f"{gh.base_url}/repos/{repo.full_name}/contents/{quote(path)}",
                )
                if blob.size < 1024 and blob.startswith(b"version https://git-lfs"):
                    item["patch"] = "@@ -0,0 +1,3 @@\n" + "".join(
                        f"+{line}\n" for line in blob.read().decode().splitlines()
                    )
                elif (patch := _text_patch(repo, pull, path)) is not None:
                    item["patch"] = patch
                else:
                    item.pop("patch", None)  # binary files have no patch
                items.append(item)
            self._page(items, rec, urlsplit(self.path).path)

        def _contents(self, repo: Repo, path: str, rec: Recorded) -> None:
            ref = rec.query.get("ref", [""])[0]
            blobs = repo.blobs[ref]
            if path not in blobs:
                return self._listing(repo, ref, blobs, path, rec)
            blob = blobs[path]
            links = repo.symlinks.get(ref, frozenset())
            if path in links:
                # GitHub follows a link to a file of the repository; any other it describes
                target = blob.read().decode()
                named = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
                if named not in blobs or named in links or target.startswith("/"):
                    return self._json(200, self._symlink_json(repo, ref, path, blob), record=rec)
                blob = blobs[named]
            if "raw" in self.headers.get("Accept", ""):
                # GitHub's contents API sends raw bodies whole, whatever Range says
                key = f"{repo.full_name}/{path}"
                return self._blob(blob, key=key, ranges=False, record=rec)
            inline = blob.size <= INLINE_MAX
            body = {
                "type": "file",
                "encoding": "base64" if inline else "none",
                "size": blob.size,
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "content": base64.b64encode(blob.read()).decode() if inline else "",
                "sha": blob.git_sha1,
                "url": f"{gh.base_url}/repos/{repo.full_name}/contents/{quote(path)}?ref={ref}",
            }
            self._json(200, body, record=rec)

        def _symlink_json(self, repo: Repo, ref: str, path: str, blob: Blob) -> dict[str, Any]:
            url = f"{gh.base_url}/repos/{repo.full_name}/contents/{quote(path)}?ref={ref}"
            git_url = f"{gh.base_url}/repos/{repo.full_name}/git/blobs/{blob.git_sha1}"
            return {
                "type": "symlink",
                "target": blob.read().decode(),
                "size": blob.size,
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "sha": blob.git_sha1,
                "url": url,
                "git_url": git_url,
                "html_url": None,
                "download_url": None,
                "_links": {"self": url, "git": git_url, "html": None},
            }

        def _tree(self, repo: Repo, sha: str, rec: Recorded) -> None:
            """``git/trees/{commit}``: every path with its git mode (recursive=1), folders too."""
            blobs = repo.blobs.get(sha)
            if blobs is None:
                return self._json(404, {"message": "Not Found"}, record=rec)
            links = repo.symlinks.get(sha, frozenset())
            recursive = rec.query.get("recursive", [""])[0] not in ("", "0", "false")
            entries: list[dict[str, Any]] = []
            folders: set[str] = set()
            for path, blob in sorted(blobs.items()):
                if not recursive and "/" in path:
                    folders.add(path.split("/", 1)[0])
                    continue
                parts = path.split("/")[:-1]
                folders.update("/".join(parts[: i + 1]) for i in range(len(parts)))
                entries.append(
                    {
                        "path": path,
                        "mode": "120000" if path in links else "100644",
                        "type": "blob",
                        "sha": blob.git_sha1,
                        "size": blob.size,
                        "url": f"{gh.base_url}/repos/{repo.full_name}/git/blobs/{blob.git_sha1}",
                    }
                )
            entries += [
                {"path": f, "mode": "040000", "type": "tree", "sha": hashlib.sha1(
                    f.encode(), usedforsecurity=False).hexdigest(),
                 "url": f"{gh.base_url}/repos/{repo.full_name}/git/trees/{f}"}
                for f in sorted(folders)
            ]  # fmt: skip
            body = {
                "sha": sha,
                "url": f"{gh.base_url}/repos/{repo.full_name}/git/trees/{sha}",
                "tree": sorted(entries, key=lambda e: str(e["path"])),
                "truncated": False,
            }
            self._json(200, body, record=rec)

        def _git_blob(self, repo: Repo, sha: str, rec: Recorded) -> None:
            """``git/blobs/{sha}``: a blob's bytes in base64, found by its git sha1."""
            for blobs in list(repo.blobs.values()):
                for blob in blobs.values():
                    if blob.git_sha1 == sha:
                        body = {
                            "sha": sha,
                            "size": blob.size,
                            "url": f"{gh.base_url}/repos/{repo.full_name}/git/blobs/{sha}",
                            "content": base64.b64encode(blob.read()).decode(),
                            "encoding": "base64",
                        }
                        return self._json(200, body, record=rec)
            self._json(404, {"message": "Not Found"}, record=rec)

        def _listing(
            self, repo: Repo, ref: str, blobs: Mapping[str, Blob], folder: str, rec: Recorded
        ) -> None:
            """A directory's entries, as GitHub answers a contents request for a folder."""
            prefix = f"{folder}/" if folder else ""
            entries: dict[str, dict[str, Any]] = {}
            for path, blob in sorted(blobs.items()):
                if not path.startswith(prefix):
                    continue
                name, _, deeper = path[len(prefix) :].partition("/")
                if name in entries:
                    continue
                kind = "dir" if deeper else "file"
                entries.setdefault(
                    name,
                    {
                        "type": kind,
                        "name": name,
                        "path": prefix + name,
                        "size": 0 if deeper else blob.size,
                        # a folder's tree id is not modelled: its name's hash stands in
                        "sha": hashlib.sha1(
                            f"tree {prefix}{name}".encode(), usedforsecurity=False
                        ).hexdigest()
                        if deeper
                        else blob.git_sha1,
                        "url": f"{gh.base_url}/repos/{repo.full_name}/contents/"
                        f"{quote(prefix + name)}?ref={ref}",
                    },
                )
            if not entries:
                raise KeyError(folder)  # no such file or folder: 404
            self._json(200, list(entries.values()), record=rec)

        def _user(self, login: str, uid: int | None = None) -> dict[str, Any]:
            user: dict[str, Any] = copy.deepcopy(gh._template("comment")["user"])
            bot = login.endswith("[bot]")
            user.update(
                login=login,
                id=uid or (abs(hash(login)) % 10**7),
                type="Bot" if bot else "User",
                url=f"{gh.base_url}/users/{quote(login)}",
            )
            return user

        def _permission(self, repo: Repo, login: str, rec: Recorded) -> None:
            if login.startswith("ghost"):
                return self._json(404, {"message": "Not Found"}, record=rec)
            data = gh._template("permission")
            # a public repository answers "read" for anyone who is not a collaborator
            level = repo.permissions.get(login, "read")
            data["permission"] = "write" if level == "maintain" else level
            data["role_name"] = level
            data["user"] = self._user(login)
            self._json(200, data, record=rec)

        def _comments(self, repo: Repo, number: int, rec: Recorded) -> None:
            comments = repo.comments.setdefault(number, [])
            if self.command == "GET":
                return self._page(comments, rec, urlsplit(self.path).path)
            login = BOT_LOGIN if self._token_ok() else "someone"
            comment = gh._template("comment")
            cid = gh._next_id()
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            comment.update(
                id=cid,
                body=rec.body["body"],
                user=self._user(login),
                created_at=now,
                updated_at=now,
                url=f"{gh.base_url}/repos/{repo.full_name}/issues/comments/{cid}",
                issue_url=f"{gh.base_url}/repos/{repo.full_name}/issues/{number}",
                html_url=f"{gh.base_url}/{repo.full_name}/pull/{number}#issuecomment-{cid}",
            )
            # GitHub names the App that wrote a comment through an installation token
            comment["performed_via_github_app"] = gh.app_json() if self._token_ok() else None
            comment["edits"] = 0
            with gh.lock:
                comments.append(comment)
            self._json(201, comment, record=rec)

        def _edit_comment(self, repo: Repo, cid: int, rec: Recorded) -> None:
            for comments in repo.comments.values():
                for comment in comments:
                    if comment["id"] == cid:
                        comment["body"] = rec.body["body"]
                        comment["edits"] += 1
                        comment["updated_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                        return self._json(200, comment, record=rec)
            self._json(404, {"message": "Not Found"}, record=rec)

        def _react(self, repo: Repo, cid: int, rec: Recorded) -> None:
            """GitHub's reactions: one per user and content (the same again answers 200)."""
            content = (rec.body or {}).get("content")
            if content not in REACTIONS:
                return self._json(422, {"message": "Validation Failed"}, record=rec)
            if not any(c["id"] == cid for cs in repo.comments.values() for c in cs):
                return self._json(404, {"message": "Not Found"}, record=rec)
            login = BOT_LOGIN if self._token_ok() else "someone"
            with gh.lock:
                found = repo.reactions.setdefault(cid, [])
                for reaction in found:
                    if reaction["user"]["login"] == login and reaction["content"] == content:
                        return self._json(200, reaction, record=rec)
                reaction = {
                    "id": gh._next_id(),
                    "user": self._user(login),
                    "content": content,
                    "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
                found.append(reaction)
            self._json(201, reaction, record=rec)

        def _labels(self, repo: Repo, number: int, rest: list[str], rec: Recorded) -> None:
            labels = repo.labels.setdefault(number, [])
            with gh.lock:
                if self.command == "POST":
                    labels.extend(n for n in rec.body if n not in labels)
                elif self.command == "DELETE" and rest:
                    if rest[0] not in labels:
                        return self._json(404, {"message": "Label does not exist"}, record=rec)
                    labels.remove(rest[0])
            template = gh._template("label")
            body = [
                {
                    **template,
                    "name": n,
                    "url": f"{gh.base_url}/repos/{repo.full_name}/labels/{quote(n)}",
                }
                for n in labels
            ]
            self._json(200, body, record=rec)

        def _create_run(self, repo: Repo, rec: Recorded) -> None:
            run: dict[str, Any] = gh._template("check_run")
            rid = gh._next_id()
            body = rec.body
            run.update(
                id=rid,
                name=body["name"],
                head_sha=body["head_sha"],
                external_id=body.get("external_id"),
                status=body.get("status", "queued"),
                conclusion=body.get("conclusion"),
                started_at=body.get("started_at"),
                completed_at=body.get("completed_at"),
                url=f"{gh.base_url}/repos/{repo.full_name}/check-runs/{rid}",
                output={"title": None, "summary": None, "annotations_count": 0},
                pull_requests=[],
            )
            run["annotations"] = []
            run["actions"] = []
            run["requests"] = 1
            # a check run belongs to the App whose installation token created it
            run["app"] = gh.app_json()
            if not self._apply_output(run, body.get("output"), rec):
                return
            with gh.lock:
                repo.check_runs.append(run)
            self._json(201, run, record=rec)

        def _update_run(self, repo: Repo, rid: int, rec: Recorded) -> None:
            run = next(r for r in repo.check_runs if r["id"] == rid)
            if run["app"]["id"] != gh.app_id:  # GitHub lets an App update only its own runs
                return self._json(
                    403, {"message": "Resource not accessible by integration"}, record=rec
                )
            body = rec.body
            if not self._apply_actions(run, body.get("actions"), rec):
                return
            if not self._apply_output(run, body.get("output"), rec):
                return
            for key in ("status", "conclusion", "completed_at"):
                if key in body:
                    run[key] = body[key]
            if body.get("conclusion"):
                run["status"] = "completed"
            run["requests"] += 1
            self._json(200, run, record=rec)

        def _apply_actions(self, run: dict[str, Any], actions: Any, rec: Recorded) -> bool:
            """Requested actions as GitHub bounds them: at most 3, label <= 20 characters,
            description <= 40, identifier <= 20; a list sent replaces the run's buttons."""
            if actions is None:
                return True
            bad = len(actions) > 3 or any(
                not (0 < len(a.get("label", "")) <= 20)
                or not (0 < len(a.get("description", "")) <= 40)
                or not (0 < len(a.get("identifier", "")) <= 20)
                for a in actions
            )
            if bad:
                self._json(422, {"message": "Invalid request: actions"}, record=rec)
                return False
            run["actions"] = list(actions)
            return True

        def _apply_output(self, run: dict[str, Any], output: Any, rec: Recorded) -> bool:
            if not output:
                return True
            annotations = output.get("annotations") or []
            if len(annotations) > 50:
                self._json(
                    422,
                    {"message": "Only 50 annotations are allowed per request"},
                    record=rec,
                )
                return False
            run["annotations"].extend(annotations)  # annotations append, as on GitHub
            run["output"].update(
                title=output.get("title"),
                summary=output.get("summary"),
                annotations_count=len(run["annotations"]),
            )
            return True

        def _reviews(self, repo: Repo, pull: Pull, rec: Recorded) -> None:
            found = repo.reviews.setdefault(pull.number, [])
            if self.command == "GET":
                return self._page(found, rec, urlsplit(self.path).path)
            if self.command != "POST":
                return self._json(404, {"message": "Not Found"}, record=rec)
            body = rec.body or {}
            commit = body.get("commit_id") or pull.head_sha
            if body.get("event") not in (None, "COMMENT", "APPROVE", "REQUEST_CHANGES"):
                return self._json(422, {"message": "Unprocessable Entity"}, record=rec)
            if commit not in repo.blobs:
                return self._json(422, {"message": "No commit found for SHA"}, record=rec)
            problem = self._review_comment_problem(repo, pull, body.get("comments") or [])
            if problem:
                return self._json(422, {"message": "Unprocessable Entity", "errors": [problem]},
                                  record=rec)  # fmt: skip
            api = f"{gh.base_url}/repos/{repo.full_name}"
            web = f"{gh.base_url}/{repo.full_name}/pull/{pull.number}"
            login = BOT_LOGIN if self._token_ok() else "someone"
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            rid = gh._next_id()
            review = {
                "id": rid, "node_id": f"PRR_{rid}", "user": self._user(login),
                "body": body.get("body") or "", "state": "COMMENTED", "commit_id": commit,
                "html_url": f"{web}#pullrequestreview-{rid}",
                "pull_request_url": f"{api}/pulls/{pull.number}", "submitted_at": now,
                "author_association": "NONE",
            }  # fmt: skip
            with gh.lock:
                found.append(review)
                for item in body.get("comments") or []:
                    cid = gh._next_id()
                    repo.review_comments.setdefault(pull.number, []).append({
                        "id": cid, "node_id": f"PRRC_{cid}", "pull_request_review_id": rid,
                        "url": f"{api}/pulls/comments/{cid}", "path": item["path"],
                        "line": item["line"], "original_line": item["line"],
                        "side": item.get("side", "RIGHT"), "commit_id": commit,
                        "original_commit_id": commit, "body": item["body"],
                        "user": self._user(login), "created_at": now, "updated_at": now,
                        "html_url": f"{web}#discussion_r{cid}",
                        "pull_request_url": f"{api}/pulls/{pull.number}",
                    })  # fmt: skip
            self._json(200, review, record=rec)

        def _review_comment_problem(
            self, repo: Repo, pull: Pull, comments: list[dict[str, Any]]
        ) -> str:
            """What GitHub would refuse in a review's comments: a line outside the diff."""
            for item in comments:
                if not {"path", "body", "line"} <= set(item):
                    return "path, body and line are required"
                if item.get("side", "RIGHT") != "RIGHT":
                    return "only head-side comments are modelled"
                patch = (
                    _text_patch(repo, pull, item["path"]) if item["path"] in pull.status else None
                )
                if item["line"] not in _head_lines(patch):
                    return "pull_request_review_thread.line must be part of the diff"
            return ""

        def _edit_review(self, repo: Repo, number: int, rid: int, rec: Recorded) -> None:
            for review in repo.reviews.get(number, []):
                if review["id"] == rid:
                    if review["user"]["login"] != (BOT_LOGIN if self._token_ok() else ""):
                        return self._json(403, {"message": "Forbidden"}, record=rec)
                    review["body"] = (rec.body or {}).get("body", "")
                    return self._json(200, review, record=rec)
            self._json(404, {"message": "Not Found"}, record=rec)

        def _delete_review_comment(self, repo: Repo, cid: int, rec: Recorded) -> None:
            with gh.lock:
                for comments in repo.review_comments.values():
                    for comment in comments:
                        if comment["id"] == cid:
                            comments.remove(comment)
                            rec.status = 204
                            self.send_response(204)
                            self.send_header("Content-Length", "0")
                            self.end_headers()
                            return
            self._json(404, {"message": "Not Found"}, record=rec)

        def _lfs_batch(self, full_name: str, rec: Recorded) -> None:
            value = self.headers.get("Authorization", "")
            if not value.startswith("Basic "):
                return self._json(401, {"message": "Credentials needed"}, record=rec)
            user, _, password = base64.b64decode(value[6:]).decode().partition(":")
            expiry = gh.tokens.get(password)
            if user != "x-access-token" or expiry is None:
                return self._json(401, {"message": "Bad credentials"}, record=rec)
            objects = []
            for obj in rec.body["objects"]:
                oid = obj["oid"]
                if oid not in gh.lfs_objects:
                    objects.append({**obj, "error": {"code": 404, "message": "Object not found"}})
                    continue
                objects.append(
                    {
                        **obj,
                        "authenticated": True,
                        "actions": {
                            "download": {
                                "href": f"{gh.base_url}/lfs-objects/{oid}",
                                "header": {"Authorization": f"RemoteAuth {oid[:16]}"},
                                "expires_in": 3600,
                            }
                        },
                    }
                )
            self._json(200, {"transfer": "basic", "objects": objects}, record=rec)

        def _lfs_object(self, oid: str, rec: Recorded) -> None:
            if self.headers.get("Authorization") != f"RemoteAuth {oid[:16]}":
                return self._json(403, {"message": "Forbidden"}, record=rec)
            self._blob(gh.lfs_object(oid), key=oid, ranges=True, record=rec)

    return Handler


def serve(shared: Path, app_id: int, public_key_pem: str) -> Iterator[FakeGitHub]:
    """Start a FakeGitHub on an ephemeral loopback port for the duration of the generator."""
    gh = FakeGitHub(shared, app_id, public_key_pem)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(gh))
    gh.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    # polled often: shutdown, at every fixture teardown, waits up to one interval
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield gh
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
