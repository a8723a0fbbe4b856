"""Hugging Face Hub pull requests (``refs/pr/N``) and new fine-tunes, through huggingface_hub."""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from huggingface_hub import DiscussionWithDetails, HfApi, hf_hub_download, hf_hub_url
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoFile

from checks.base import RemoteBlob
from checks.licence.comments import WEIGHT_SUFFIXES
from reviewbot.errors import (
    PermanentError,
    PlatformError,
    TransientError,
    error_for_status,
    parse_retry_after,
)
from reviewbot.history.records import ContributionMeta
from reviewbot.markers import MARKER, verdict_sha_matches
from reviewbot.models import ContributionRef, Kind
from reviewbot.platforms.base import (
    ChangedFile,
    Fetched,
    FileListing,
    Publication,
    matches_name,
    safe_destination,
)
from reviewbot.platforms.hub_meta import declared_bases, hub_meta
from reviewbot.platforms.hub_permissions import may_merge
from reviewbot.platforms.hub_security import describe_security

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"
# The discussion reviewbot opens on a new fine-tune (it has no pull request to comment on).
NEW_MODEL_TITLE = "reviewbot review of this fine-tune"
# The longest comment reviewbot posts; a longer verdict is cut short (its markers come first).
COMMENT_LIMIT = 65_535
_CHUNK = 1 << 20
# Transport failures across huggingface_hub's HTTP stacks (requests, httpx, httpx2), by name so
# that this module does not pin one of them.
_TRANSIENT_NAMES = frozenset(
    {"ConnectionError", "ConnectError", "TransportError", "TimeoutException", "Timeout",
     "ReadTimeout", "ConnectTimeout", "RemoteProtocolError", "ReadError", "ChunkedEncodingError"}
)  # fmt: skip


def pr_revision(number: int) -> str:
    return f"refs/pr/{number}"


# (endpoint, sha256 of the token) -> user name; a token's user never changes
_WHOAMI: dict[tuple[str, str], str] = {}
_WHOAMI_LOCK = threading.Lock()


class HubPlatform:
    """One Hub endpoint, one token; ``watched`` lists the base models whose fine-tunes we review."""

    name = "hf"
    has_status = False  # no check runs: the comment is the verdict

    def __init__(
        self,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        token: str | None = None,
        watched: Iterable[str] = (),
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._token = token
        # Hub ids are case-insensitive, as the webhook router treats them
        self.watched = frozenset(w.casefold() for w in watched)
        self.api = HfApi(endpoint=self.endpoint, token=token)
        # Discussion details as this review has read them (one GET, not one per question);
        # ``skip_reason`` starts a review and empties it, ``publish`` reads afresh.
        self._details: dict[int, DiscussionWithDetails] = {}

    @property
    def token(self) -> str | None:
        return self._token

    def _revision(self, ref: ContributionRef) -> str | None:
        return None if ref.kind is Kind.NEW_MODEL else pr_revision(ref.number)

    def whoami(self) -> str:
        """The bot's own Hub user, asked once per process and token: whoami is rate limited."""
        key = (self.endpoint, hashlib.sha256((self._token or "").encode()).hexdigest())
        with _WHOAMI_LOCK:
            me = _WHOAMI.get(key)
        if me is None:
            with hub_errors():
                me = str(self.api.whoami()["name"])
            with _WHOAMI_LOCK:
                _WHOAMI[key] = me
        return me

    def _discussion(self, repo: str, num: int, *, fresh: bool = False) -> DiscussionWithDetails:
        if fresh or num not in self._details:
            with hub_errors():
                self._details[num] = self.api.get_discussion_details(repo, num)
        return self._details[num]

    # -- reading ----------------------------------------------------------------------------

    def head_sha(self, ref: ContributionRef) -> str:
        with hub_errors():
            sha = self.api.model_info(ref.repo, revision=self._revision(ref)).sha
        if not sha:
            raise PermanentError(f"the Hub reports no commit for {ref.display}")
        return sha

    def skip_reason(self, ref: ContributionRef) -> str | None:
        self._details.clear()  # a review starts here
        with hub_errors():
            if ref.kind is Kind.NEW_MODEL:
                info = self.api.model_info(ref.repo)
                files = [s.rfilename for s in info.siblings or ()]
                if "README.md" not in files:
                    return "waiting for its model card (README.md)"
                declared = declared_bases(info.card_data, info.tags)
                if not any(b.casefold() in self.watched for b in declared):
                    return "not a fine-tune of a watched model"
                if not any(PurePosixPath(f).suffix.lower() in WEIGHT_SUFFIXES for f in files):
                    return "waiting for its weights"
                return None
        details = self._discussion(ref.repo, ref.number)
        if not details.is_pull_request:
            return "the discussion is not a pull request"
        if details.status != "open":
            return f"the pull request is {details.status}"
        return None

    def list_changed_files(self, ref: ContributionRef, head_sha: str) -> FileListing:
        with hub_errors():
            entries = [
                e
                for e in self.api.list_repo_tree(ref.repo, recursive=True, revision=head_sha)
                if isinstance(e, RepoFile)  # files only, not folders
            ]
            unchanged: dict[str, str] = {}
            if ref.kind is Kind.PULL_REQUEST and entries:
                base = self._discussion(ref.repo, ref.number).target_branch
                for info in self.api.get_paths_info(
                    ref.repo, [e.path for e in entries], revision=base or "main"
                ):
                    blob = getattr(info, "blob_id", None)
                    if blob is not None:
                        unchanged[info.path] = blob
        changed = [e for e in entries if unchanged.get(e.path) != e.blob_id]
        # same blob on the target branch: not part of this pull request
        scans = self._security(ref, head_sha, [e.path for e in changed])
        files = []
        for entry in changed:
            lfs = getattr(entry, "lfs", None)
            files.append(
                ChangedFile(
                    path=entry.path,
                    status="modified" if entry.path in unchanged else "added",
                    size=int(entry.size),
                    lfs_sha256=str(lfs.sha256) if lfs is not None else None,
                    platform_scan=scans.get(entry.path),
                    blob_sha=entry.blob_id or None,
                )
            )
        return FileListing(files=files, total=len(files))

    def _security(self, ref: ContributionRef, revision: str, paths: list[str]) -> dict[str, str]:
        """The Hub's own scan of each file, for information; a failure just leaves it out."""
        if not paths:
            return {}
        try:
            infos = self.api.get_paths_info(ref.repo, paths, expand=True, revision=revision)
        except Exception as exc:  # the verdict does not depend on it: note and go on
            log.info("the Hub's security status is unavailable: %s", type(exc).__name__)
            return {}
        found: dict[str, str] = {}
        for info in infos:
            text = describe_security(getattr(info, "security", None))
            if text is not None:
                found[info.path] = text
        return found

    def base_revision(self, ref: ContributionRef) -> str | None:
        """The pull request's target branch; a new model merges into nothing, so None."""
        if ref.kind is Kind.NEW_MODEL:
            return None
        with hub_errors():
            target = self._discussion(ref.repo, ref.number).target_branch
            # the commit, not the branch name: a policy change on the branch is a new base
            return str(self.api.model_info(ref.repo, revision=target or "main").sha)

    def download(
        self,
        ref: ContributionRef,
        head_sha: str,
        files: list[ChangedFile],
        workdir: Path,
        *,
        remote_min_bytes: int | None = None,
    ) -> Fetched:
        remote: dict[str, RemoteBlob] = {}
        local: list[ChangedFile] = []
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        for file in files:
            if (
                remote_min_bytes is not None
                and file.lfs_sha256 is not None
                and file.size is not None
                and file.size >= remote_min_bytes
            ):
                # the exact commit reviewed, not the moving refs/pr/N
                url = hf_hub_url(ref.repo, file.path, revision=head_sha, endpoint=self.endpoint)
                remote[file.path] = RemoteBlob(
                    url, size=file.size, sha256=file.lfs_sha256, headers=dict(headers)
                )
            else:
                local.append(file)
        known = self._fetch(ref, head_sha, local, workdir)
        vouched = {**known, **{p: b.sha256 for p, b in remote.items() if b.sha256}}
        return Fetched([f.path for f in local], vouched, remote=remote)

    def fetch_paths(
        self,
        ref: ContributionRef,
        revision: str,
        names: Sequence[str],
        workdir: Path,
        *,
        max_bytes: int,
    ) -> Fetched:
        with hub_errors():
            try:
                # the top level only: one listing instead of one request per name
                entries = [
                    e
                    for e in self.api.list_repo_tree(ref.repo, revision=revision)
                    if isinstance(e, RepoFile) and matches_name(e.path, names)
                ]
            except (RevisionNotFoundError, EntryNotFoundError):
                return Fetched()
        wanted: list[ChangedFile] = []
        skipped: dict[str, str] = {}
        for entry in sorted(entries, key=lambda e: e.path):
            if int(entry.size) > max_bytes:
                skipped[entry.path] = f"larger than {max_bytes:,} bytes"
            elif not safe_destination(workdir, entry.path).exists():
                lfs = getattr(entry, "lfs", None)
                wanted.append(
                    ChangedFile(
                        entry.path,
                        size=int(entry.size),
                        lfs_sha256=str(lfs.sha256) if lfs is not None else None,
                    )
                )
        known = self._fetch(ref, revision, wanted, workdir)
        return Fetched([f.path for f in wanted], known, skipped)

    def _fetch(
        self, ref: ContributionRef, revision: str, files: list[ChangedFile], workdir: Path
    ) -> dict[str, str]:
        known: dict[str, str] = {}
        if not files:
            return known
        # huggingface_hub keeps metadata beside what it downloads: keep that out of the
        # reviewed folder by downloading into a private cache and moving each file over.
        with tempfile.TemporaryDirectory(dir=workdir.parent, prefix="hf-cache-") as cache:
            for file in files:
                dest = safe_destination(workdir, file.path)
                with hub_errors():
                    cached = hf_hub_download(
                        ref.repo,
                        file.path,
                        revision=revision,  # the caller's pin: the head is a commit sha
                        cache_dir=cache,
                        endpoint=self.endpoint,
                        token=self._token,
                    )
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(Path(cached).resolve()), dest)
                if file.lfs_sha256 is not None:
                    if _sha256(dest) != file.lfs_sha256:
                        # fail closed: what we would review is not what the Hub lists
                        raise PermanentError(f"{file.path} does not match its LFS sha256")
                    known[file.path] = file.lfs_sha256
        return known

    # -- verdict ----------------------------------------------------------------------------

    def _discussion_num(self, ref: ContributionRef) -> int | None:
        if ref.kind is Kind.PULL_REQUEST:
            return ref.number
        with hub_errors():
            for discussion in self.api.get_repo_discussions(
                ref.repo, author=self.whoami(), discussion_type="discussion"
            ):
                if discussion.title == NEW_MODEL_TITLE:
                    return int(discussion.num)
        return None

    def _sticky(
        self, ref: ContributionRef, *, fresh: bool = False
    ) -> tuple[int | None, str | None, str | None]:
        """(discussion number, comment id, comment text) of the bot's verdict, if posted;
        ``fresh`` for a write, which must see what another job posted meanwhile."""
        num = self._discussion_num(ref)
        if num is None:
            return None, None, None
        me = self.whoami()
        details = self._discussion(ref.repo, num, fresh=fresh)
        for event in details.events:
            content = getattr(event, "content", None)
            if (
                event.type == "comment"
                and event.author == me
                and isinstance(content, str)
                and content.startswith(MARKER)
            ):
                return num, event.id, content
        return num, None, None

    def find_verdict(self, ref: ContributionRef) -> str | None:
        return self._sticky(ref)[2]

    def published(self, ref: ContributionRef, head_sha: str) -> bool:
        """The comment is all there is on the Hub."""
        posted = self.find_verdict(ref)
        return posted is not None and verdict_sha_matches(posted, head_sha)

    def begin(self, ref: ContributionRef, head_sha: str) -> None:
        """The Hub has no check runs: nothing to show until the verdict is posted."""

    def cancel(self, ref: ContributionRef, head_sha: str) -> None:
        """Nothing was opened by ``begin``."""

    def publish(self, ref: ContributionRef, publication: Publication) -> None:
        if not publication.comment:
            return  # the comment is all the Hub has: a quiet review writes nothing
        body = _cap(publication.body)
        num, comment_id, text = self._sticky(ref, fresh=True)
        self._details.clear()  # what is read next must include this write
        with hub_errors():
            if num is None:
                self.api.create_discussion(ref.repo, title=NEW_MODEL_TITLE, description=body)
            elif comment_id is None:
                self.api.comment_discussion(ref.repo, num, body)
            elif text != body:
                self.api.edit_discussion_comment(ref.repo, num, comment_id, body)

    def contribution_meta(self, ref: ContributionRef) -> ContributionMeta:
        """The card at the head (base models, licence) and, for a pull request, its discussion
        (as this review read it, when it still holds it)."""
        with hub_errors():
            info = self.api.model_info(ref.repo, revision=self._revision(ref))
        details = None if ref.kind is Kind.NEW_MODEL else self._discussion(ref.repo, ref.number)
        return hub_meta(self.endpoint, ref, info, details)

    def may_recheck(self, ref: ContributionRef, user: str) -> bool:
        """The repository's owner or an organisation member with write access
        (``reviewbot.platforms.hub_permissions``); ``user`` is the webhook's author id."""
        with hub_errors():
            return may_merge(self.api, ref.repo, user)

    def react(self, ref: ContributionRef, comment_id: int, content: str) -> None:
        """The Hub has no reactions, and a reply per command would be noise: nothing."""


def _cap(text: str) -> str:
    if len(text) <= COMMENT_LIMIT:
        return text
    return text[: COMMENT_LIMIT - 40] + "\n\n…(truncated by reviewbot)\n"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _is_transport_error(exc: BaseException) -> bool:
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(exc).__mro__)


@contextmanager
def hub_errors() -> Iterator[None]:
    """Map huggingface_hub failures onto TransientError / PermanentError."""
    try:
        yield
    except PlatformError:
        raise
    except HfHubHTTPError as exc:
        response = exc.response
        status = int(response.status_code) if response is not None else 0
        if status == 0:
            raise TransientError(f"Hub unreachable: {type(exc).__name__}") from exc
        retry_after = parse_retry_after(
            response.headers.get("Retry-After") if response is not None else None
        )
        raise error_for_status(
            status, f"Hub: {type(exc).__name__}", retry_after=retry_after
        ) from exc
    except LocalEntryNotFoundError as exc:
        # hf_hub_download's wording for "the Hub could not be reached and nothing is cached"
        raise TransientError("Hub unreachable while downloading") from exc
    except Exception as exc:
        if _is_transport_error(exc):
            raise TransientError(f"Hub unreachable: {type(exc).__name__}") from exc
        raise
