"""GitHub pull requests through PyGithub, authenticated as a GitHub App installation."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from github import Auth, Github, GithubIntegration
from github.CheckRun import CheckRun
from github.GithubException import (
    GithubException,
    RateLimitExceededExceedsMaxWait,
    RateLimitExceededException,
)
from github.GithubRetry import GithubRetry
from github.IssueComment import IssueComment
from github.PullRequest import PullRequest
from github.Repository import Repository
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from checks.base import RemoteBlob
from reviewbot.errors import (
    PermanentError,
    PlatformError,
    TransientError,
    error_for_status,
    parse_retry_after,
)
from reviewbot.markers import MARKER, verdict_sha_matches
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

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
CHECK_NAME = "reviewbot"
LABEL_PREFIX = "reviewbot: "
MAX_LISTED_FILES = 3000  # the pull-request files endpoint stops here, whatever the PR holds
ANNOTATIONS_PER_REQUEST = 50  # the Checks API rejects more in one request
SUMMARY_LIMIT = 65_535  # check-run output.summary and issue comment bodies cap here
CONCLUSIONS = {"pass": "success", "warn": "neutral", "fail": "failure", "error": "failure"}
LFS_POINTER_MAX = 1024  # a pointer file is ~130 bytes; anything larger is real content
LFS_POINTER = re.compile(
    rb"\Aversion https://git-lfs\.github\.com/spec/v1\n"
    rb"oid sha256:(?P<oid>[0-9a-f]{64})\nsize (?P<size>[0-9]+)\n?\Z"
)
_PATCH_OID = re.compile(r"^\+oid sha256:([0-9a-f]{64})$", re.MULTILINE)
_PATCH_SIZE = re.compile(r"^\+size ([0-9]+)$", re.MULTILINE)
_CHUNK = 1 << 20
# Longest wait PyGithub may sleep in-process for a rate limit; beyond it the task retries later.
MAX_RATE_LIMIT_WAIT = 30.0
# Refresh an installation token this long before GitHub expires it (tokens live an hour).
TOKEN_MARGIN = timedelta(minutes=5)
# urllib3 may repeat these on a 5xx or a broken answer. Never POST: a create that GitHub carried
# out but answered 502 would be made twice. The review flow retries writes itself, after looking
# for what the first attempt made (``publish`` finds before it creates).
IDEMPOTENT_METHODS = Retry.DEFAULT_ALLOWED_METHODS - {"POST"}
# Phrases GitHub puts in a 403 that is a rate limit rather than a refusal.
_RATE_LIMIT_WORDS = ("rate limit", "abuse detection")


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: datetime


# One cache per worker process: every task for an installation reuses the token until it expires.
_TOKENS: dict[tuple[str, int, int], _Token] = {}
_TOKENS_LOCK = threading.Lock()


def clear_token_cache() -> None:
    with _TOKENS_LOCK:
        _TOKENS.clear()


class CappedRetry(GithubRetry):
    """GithubRetry that never sleeps longer than ``max_rate_limit_wait``.

    GithubRetry already raises RateLimitExceededExceedsMaxWait for a long primary or secondary
    rate-limit wait; urllib3 would still sleep through any ``Retry-After`` header, however long,
    so that wait is capped the same way and the Celery task retries with a countdown instead.
    """

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        wait = super().get_retry_after(response)
        cap = self.max_rate_limit_wait
        if wait is not None and cap is not None and wait > cap:
            raise RateLimitExceededExceedsMaxWait(
                response.status, None, dict(response.headers), wait=wait
            )
        return wait


class GitHubPlatform:
    """One GitHub App on one API host (github.com or a GitHub Enterprise Server ``/api/v3``)."""

    name = "github"

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
        self._private_key = private_key
        self.api_url = api_url.rstrip("/")
        self.max_rate_limit_wait = (
            MAX_RATE_LIMIT_WAIT if max_rate_limit_wait is None else max_rate_limit_wait
        )
        self.http_retries = http_retries
        self.timeout = timeout
        self._pace: dict[str, Any] = (
            {} if paced else {"seconds_between_requests": None, "seconds_between_writes": None}
        )
        self._clients: dict[int, tuple[Github, str]] = {}

    # -- auth -------------------------------------------------------------------------------

    def _retry(self, *, posts: bool = False) -> CappedRetry:
        """``posts``: also repeat POSTs (safe only where a repeat creates nothing, like a token)."""
        methods = IDEMPOTENT_METHODS | {"POST"} if posts else IDEMPOTENT_METHODS
        return CappedRetry(
            total=self.http_retries,
            backoff_factor=0.5,
            max_rate_limit_wait=self.max_rate_limit_wait,
            allowed_methods=methods,
        )

    def _installation_id(self, ref: ContributionRef) -> int:
        if ref.installation_id is not None:
            return int(ref.installation_id)
        # A CLI re-check names only the repository: ask GitHub which installation covers it.
        owner, repo = _split(ref.repo)
        with self._integration() as integration, _github_errors():
            return int(integration.get_repo_installation(owner, repo).id)

    def _integration(self) -> GithubIntegration:
        return GithubIntegration(
            auth=Auth.AppAuth(self.app_id, self._private_key),
            base_url=self.api_url,
            retry=self._retry(posts=True),  # a second installation token costs nothing
            timeout=self.timeout,
            **self._pace,
        )

    def installation_token(self, installation_id: int) -> str:
        """An installation access token, cached per process until shortly before it expires."""
        key = (self.api_url, self.app_id, installation_id)
        now = datetime.now(UTC)
        with _TOKENS_LOCK:
            cached = _TOKENS.get(key)
            if cached is not None and cached.expires_at - TOKEN_MARGIN > now:
                return cached.value
        with self._integration() as integration, _github_errors():
            granted = integration.get_access_token(installation_id)
        expires = granted.expires_at
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        with _TOKENS_LOCK:
            _TOKENS[key] = _Token(granted.token, expires)
        return granted.token

    def _client(self, ref: ContributionRef) -> tuple[Github, str]:
        installation = self._installation_id(ref)
        token = self.installation_token(installation)
        known = self._clients.get(installation)
        if known is not None and known[1] == token:
            return known
        client = Github(
            auth=Auth.Token(token),
            base_url=self.api_url,
            retry=self._retry(),
            timeout=self.timeout,
            per_page=100,
            **self._pace,
            lazy=True,  # build objects from ids without a GET each; fields load on first use
        )
        self._clients[installation] = (client, token)
        return client, token

    def _repo(self, ref: ContributionRef) -> Repository:
        client, _ = self._client(ref)
        return client.get_repo(ref.repo)

    def _pull(self, ref: ContributionRef) -> PullRequest:
        with _github_errors():
            pull = self._repo(ref).get_pull(ref.number)
            _ = pull.head  # load the pull request now, so errors surface inside this mapping
        return pull

    # -- reading ----------------------------------------------------------------------------

    def head_sha(self, ref: ContributionRef) -> str:
        pull = self._pull(ref)
        with _github_errors():
            return str(pull.head.sha)

    def skip_reason(self, ref: ContributionRef) -> str | None:
        pull = self._pull(ref)
        with _github_errors():
            if pull.state != "open":
                return f"the pull request is {'merged' if pull.merged else pull.state}"
        return None

    def list_changed_files(self, ref: ContributionRef, head_sha: str) -> FileListing:
        pull = self._pull(ref)
        files: list[ChangedFile] = []
        with _github_errors():
            total = int(pull.changed_files)
            for item in pull.get_files():
                if len(files) >= MAX_LISTED_FILES:
                    break
                files.append(_changed_file(item.filename, item.status, item.patch))
        return FileListing(files=files, truncated=total > len(files), total=total)

    def base_revision(self, ref: ContributionRef) -> str | None:
        pull = self._pull(ref)
        with _github_errors():
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
            if f.lfs_sha256 and f.size is not None and _stays_remote(f.size, remote_min_bytes)
        }
        return self._fetch(
            ref,
            head_sha,
            [f.path for f in wanted if f.path not in named],
            workdir,
            remote_min_bytes=remote_min_bytes,
            pointers=named,
        )

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
        with _github_errors():
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
        _, token = self._client(ref)
        with _github_errors():
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
                _stream(session, "GET", url, dest, headers=headers, timeout=self.timeout)
                pointer = _read_pointer(dest)
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
                actions = self._lfs_actions(session, html_url, token, pointers)
                for path, (oid, size) in pointers.items():
                    href, headers = actions[path]
                    if _stays_remote(size, remote_min_bytes):
                        remote[path] = RemoteBlob(href, size=size, sha256=oid, headers=headers)
                        continue
                    digest, written = _stream(
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

    def _lfs_actions(
        self,
        session: requests.Session,
        html_url: str,
        token: str,
        pointers: dict[str, tuple[str, int]],
    ) -> dict[str, tuple[str, dict[str, str]]]:
        """Each pointer's download link and headers, from one Git LFS batch request."""
        objects = {oid: size for oid, size in pointers.values()}
        try:
            answer = session.post(
                f"{html_url}.git/info/lfs/objects/batch",
                json={
                    "operation": "download",
                    "transfers": ["basic"],
                    "objects": [{"oid": oid, "size": size} for oid, size in objects.items()],
                },
                headers={
                    "Accept": "application/vnd.git-lfs+json",
                    "Content-Type": "application/vnd.git-lfs+json",
                },
                # git authenticates to LFS over HTTPS with the App token as a basic-auth password
                auth=("x-access-token", token),
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise TransientError(f"LFS batch request failed: {type(exc).__name__}") from exc
        _raise_for(answer, "LFS batch")
        actions: dict[str, dict[str, Any]] = {}
        for obj in answer.json().get("objects", []):
            if "error" in obj:
                code = int(obj["error"].get("code", 404))
                raise error_for_status(code, f"LFS object {obj.get('oid')} unavailable")
            actions[str(obj["oid"])] = obj["actions"]["download"]
        links: dict[str, tuple[str, dict[str, str]]] = {}
        for path, (oid, _size) in pointers.items():
            action = actions.get(oid)
            if action is None:
                raise PermanentError(f"the LFS server did not offer {path}")
            headers = {str(k): str(v) for k, v in action.get("header", {}).items()}
            links[path] = (str(action["href"]), headers)
        return links

    # -- verdict ----------------------------------------------------------------------------

    def _sticky(self, ref: ContributionRef) -> IssueComment | None:
        with _github_errors():
            issue = self._repo(ref).get_issue(ref.number)
            for comment in issue.get_comments():
                # The marker alone is not enough: anyone, another bot included, could paste it
                # into their own comment. Only a comment this App wrote is our verdict.
                if comment.body.startswith(MARKER) and self._ours(comment):
                    return comment
        return None

    def _ours(self, comment: IssueComment) -> bool:
        app = comment.performed_via_github_app
        return app is not None and app.id == self.app_id

    def find_verdict(self, ref: ContributionRef) -> str | None:
        comment = self._sticky(ref)
        return None if comment is None else str(comment.body)

    def published(self, ref: ContributionRef, head_sha: str) -> bool:
        comment = self._sticky(ref)
        if comment is None or not verdict_sha_matches(str(comment.body), head_sha):
            return False
        with _github_errors():
            runs = self._our_runs(self._repo(ref), head_sha)
        return bool(runs) and all(run.status == "completed" for run in runs)

    def begin(self, ref: ContributionRef, head_sha: str) -> None:
        """Show an in-progress check run while the review runs (reused if one is open).

        Found before it is created, so a create that GitHub carried out but answered 5xx for
        is not made twice when the job tries again.
        """
        repo = self._repo(ref)
        with _github_errors():
            if self._open_run(repo, head_sha) is None:
                self._create_run(repo, ref, head_sha)

    def cancel(self, ref: ContributionRef, head_sha: str) -> None:
        repo = self._repo(ref)
        with _github_errors():
            run = self._open_run(repo, head_sha)
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

    def _our_runs(self, repo: Repository, head_sha: str) -> list[CheckRun]:
        """This App's check runs on ``head_sha``, newest first.

        By App id, never by name alone: a contributor's workflow job may well be called
        ``reviewbot``, and taking its run for ours would let them suppress the verdict.
        """
        runs = repo.get_commit(head_sha).get_check_runs(check_name=CHECK_NAME, filter="all")
        ours = [run for run in runs if run.app is not None and run.app.id == self.app_id]
        return sorted(ours, key=lambda run: run.id, reverse=True)

    def _open_run(self, repo: Repository, head_sha: str) -> CheckRun | None:
        return next((r for r in self._our_runs(repo, head_sha) if r.status != "completed"), None)

    def _create_run(self, repo: Repository, ref: ContributionRef, head_sha: str) -> CheckRun:
        return repo.create_check_run(
            name=CHECK_NAME,
            head_sha=head_sha,
            status="in_progress",
            started_at=datetime.now(UTC),
            external_id=ref.key,
        )

    def publish(self, ref: ContributionRef, publication: Publication) -> None:
        """Edit the sticky comment (created when there is none yet), then complete the run.

        Every step looks before it writes, so running ``publish`` again after any failure
        halfway (a create answered 502, a refused PATCH) finishes the job without duplicates.
        """
        body = _cap(publication.body)
        sticky = self._sticky(ref)
        repo = self._repo(ref)
        with _github_errors():
            if sticky is None:
                repo.get_issue(ref.number).create_comment(body)
            elif sticky.body != body:
                sticky.edit(body)
        self._complete_check_run(ref, repo, publication)
        if publication.verdict in ("pass", "warn", "fail"):
            self._set_label(ref, repo, LABEL_PREFIX + publication.verdict)

    def _complete_check_run(
        self, ref: ContributionRef, repo: Repository, publication: Publication
    ) -> None:
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
        output = {"title": publication.title, "summary": _cap(publication.summary)}
        with _github_errors():
            # the open run, or else the newest completed one (a concurrent job completed it)
            runs = self._our_runs(repo, publication.head_sha)
            open_runs = [r for r in runs if r.status != "completed"]
            found = open_runs or runs
            run = found[0] if found else self._create_run(repo, ref, publication.head_sha)
            # annotations append across updates; the last update also completes the run
            for batch in batches[:-1]:
                run.edit(output={**output, "annotations": batch})
            run.edit(
                status="completed",
                conclusion=CONCLUSIONS.get(publication.verdict, "failure"),
                completed_at=datetime.now(UTC),
                output={**output, "annotations": batches[-1]},
            )

    def _set_label(self, ref: ContributionRef, repo: Repository, label: str) -> None:
        with _github_errors():
            issue = repo.get_issue(ref.number)
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

    # -- permissions ------------------------------------------------------------------------

    def may_recheck(self, ref: ContributionRef, user: str) -> bool:
        with _github_errors():
            # ``user`` is always a login: an all-digit one is a login too, never a user id
            try:
                permission = self._repo(ref).get_collaborator_permission(user)
            except GithubException as exc:
                if exc.status == 404:  # not a user GitHub knows: certainly not a collaborator
                    return False
                raise
        return permission in RECHECK_PERMISSIONS


def _split(full_name: str) -> tuple[str, str]:
    owner, _, name = full_name.partition("/")
    if not owner or not name:
        raise PermanentError(f"not an owner/name repository: {full_name!r}")
    return owner, name


def _changed_file(path: str, status: str, patch: str | None) -> ChangedFile:
    """A listed file; an LFS pointer's diff already names the object's oid and size."""
    oid = size = None
    if patch and "git-lfs.github.com/spec" in patch:
        oid_match, size_match = _PATCH_OID.search(patch), _PATCH_SIZE.search(patch)
        oid = oid_match.group(1) if oid_match else None
        size = int(size_match.group(1)) if size_match else None
    return ChangedFile(path=path, status=status, size=size, lfs_sha256=oid)


def _stays_remote(size: int, remote_min_bytes: int | None) -> bool:
    return remote_min_bytes is not None and size >= remote_min_bytes


def _read_pointer(path: Path) -> tuple[str, int] | None:
    if path.stat().st_size > LFS_POINTER_MAX:
        return None
    match = LFS_POINTER.match(path.read_bytes())
    if match is None:
        return None
    return match.group("oid").decode(), int(match.group("size"))


def _stream(
    session: requests.Session,
    method: str,
    url: str,
    dest: Path,
    *,
    headers: dict[str, str],
    timeout: int,
) -> tuple[str, int]:
    """Download to ``dest`` in chunks; returns the sha256 and byte count of what was written."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    written = 0
    try:
        with session.request(method, url, headers=headers, stream=True, timeout=timeout) as resp:
            _raise_for(resp, "download")
            with dest.open("wb") as out:
                for chunk in resp.iter_content(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    written += len(chunk)
    except requests.RequestException as exc:
        raise TransientError(f"download interrupted: {type(exc).__name__}") from exc
    return digest.hexdigest(), written


def _raise_for(resp: requests.Response, what: str) -> None:
    if resp.status_code < 400:
        return
    wait = _wait_from_headers(resp.headers)
    if resp.status_code == 403 and _is_rate_limit(resp):
        # a secondary (or primary) rate limit on a download or the LFS batch: wait, never fail
        raise TransientError(f"{what}: GitHub rate limit", status=403, retry_after=wait)
    raise error_for_status(resp.status_code, f"{what} refused", retry_after=wait)


def _is_rate_limit(resp: requests.Response) -> bool:
    headers = {k.lower(): v for k, v in resp.headers.items()}
    if headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers:
        return True
    try:
        text = resp.text[:2000].lower()
    except Exception:  # an undecodable body says nothing either way
        return False
    return any(word in text for word in _RATE_LIMIT_WORDS)


def _wait_from_headers(headers: Any) -> float | None:
    lowered = {str(k).lower(): str(v) for k, v in dict(headers or {}).items()}
    after = parse_retry_after(lowered.get("retry-after"))
    if after is not None:
        return after
    reset = lowered.get("x-ratelimit-reset")
    if reset and reset.isdigit() and lowered.get("x-ratelimit-remaining") == "0":
        return max(1.0, int(reset) - datetime.now(UTC).timestamp() + 1)
    return None


def _cap(text: str) -> str:
    if len(text) <= SUMMARY_LIMIT:
        return text
    return text[: SUMMARY_LIMIT - 40] + "\n\n…(truncated by reviewbot)\n"


def _rate_limit_wait(exc: GithubException) -> float | None:
    return _wait_from_headers(exc.headers)


@contextmanager
def _github_errors() -> Iterator[None]:
    """Map PyGithub and requests failures onto TransientError / PermanentError."""
    try:
        yield
    except PlatformError:
        raise
    except RateLimitExceededExceedsMaxWait as exc:
        raise TransientError(
            "GitHub rate limit: retrying later", status=exc.status, retry_after=exc.wait
        ) from exc
    except RateLimitExceededException as exc:
        raise TransientError(
            "GitHub rate limit: retrying later",
            status=exc.status,
            retry_after=_rate_limit_wait(exc),
        ) from exc
    except GithubException as exc:
        if exc.status == 401:
            # an installation token revoked early: forget it so the retry asks for a new one
            clear_token_cache()
            raise TransientError("GitHub refused the token", status=401) from exc
        data = exc.data if isinstance(exc.data, dict) else {}
        message = str(data.get("message") or exc.message or "error")
        raise error_for_status(
            exc.status, f"GitHub: {message}", retry_after=_rate_limit_wait(exc)
        ) from exc
    except requests.RequestException as exc:
        # connection failures, timeouts, and urllib3 retries exhausted on 5xx
        raise TransientError(f"GitHub unreachable: {type(exc).__name__}") from exc
