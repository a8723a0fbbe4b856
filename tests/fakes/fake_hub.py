"""A fake Hugging Face Hub on 127.0.0.1 serving repos from folders to huggingface_hub's client.

Routes (those huggingface_hub 2.x calls): ``GET /api/models/{id}[/revision/{rev}]`` (model_info with
``sha``, ``siblings`` and ``cardData``), ``GET /api/models/{id}/tree/{rev}[/{path}]`` (paged with
``Link`` as the Hub does: 1000 entries a page, 50 with ``expand``),
``POST /api/models/{id}/paths-info/{rev}``, and ``HEAD``/``GET /{id}/resolve/{rev}/{path}`` with
``X-Repo-Commit``, ``ETag`` and ``Content-Length``. Every request is logged in ``FakeHub.requests``.
Resolve honours ``Range`` (206 with ``Content-Range``, 416 past the end) and streams from disk in
1 MiB chunks; ``bytes_served``, ``file_requests`` and ``bytes_by_path`` (keyed ``org/name/path``)
count resolve responses, ``reset_counters`` zeroes them.

Files are ``str``, ``bytes`` or a :class:`~tests.fakes.blobs.Blob`; a file-backed Blob is linked
into the repo folder, never copied or read whole. As on the Hub, weight suffixes and files over
10 MiB are LFS: their entries carry ``lfs {oid (sha256), size, pointerSize}``, their ``oid`` is the
git sha1 of the pointer text and resolve answers ``X-Linked-Etag`` (the sha256) and
``X-Linked-Size``. With ``expand`` the tree and paths-info entries add ``lastCommit`` and
``securityFileStatus {status, avScan, pickleImportScan}``; ``set_security`` sets a file's scan.

Pull requests (added for the service tests): ``open_pr`` layers files over a repo as ``refs/pr/N``
with a commit of its own, served by the revision, tree, paths-info and resolve routes;
``GET /api/models/{id}/discussions[/{num}]``, ``POST .../discussions`` (create),
``POST .../discussions/{num}/comment`` and ``POST .../comment/{id}/edit``, and
``GET /api/whoami-v2``. Unknown revisions serve the main files.

Commits (``HfApi.create_commit``): ``POST /api/validate-yaml`` (a card's front matter),
``POST /api/models/{id}/preupload/{rev}`` (every file ``regular`` unless LFS by suffix or size) and
``POST /api/models/{id}/commit/{rev}`` taking the ndjson stream (header, then ``file`` lines in
base64); a ``parentCommit`` that is not the revision's commit is refused with 412, as on the Hub.
A commit to ``refs/pr/N`` lands in that pull request (and adds a ``commit`` event to its
discussion); ``commits`` records each one; ``commits_answered_502`` makes the next ones land but
answer 502. Event authors carry the Hub's user ``_id``
(``user_id``), which webhooks name commenters by; ``add_comment`` posts as anyone.
People (for the permission checks): ``add_user`` makes a user (``GET /api/users/{name}/overview``
answers its ``_id``), ``add_org`` an organisation whose ``GET /api/organizations/{org}/members``
lists each member's ``user``, ``_id`` and ``role`` (read, contributor, write or admin); an unknown
user or organisation answers 404, as on the Hub.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from tests.fakes.blobs import (
    Blob,
    CountsTransfers,
    Transfers,
    git_blob_sha1,
    lfs_pointer,
    send_blob,
)

__all__ = ["Blob", "FakeHub", "git_blob_sha1", "serve"]

SecurityStatus = Literal["safe", "unsafe", "caution", "suspicious", "unscanned"]
SafetyLevel = Literal["innocuous", "suspicious", "dangerous"]
_LEVELS: tuple[SafetyLevel, ...] = ("innocuous", "suspicious", "dangerous")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib")
# What the Hub's pickle scan lists for an ordinary torch.save checkpoint.
TORCH_IMPORTS: tuple[tuple[str, str, SafetyLevel], ...] = (
    ("collections", "OrderedDict", "innocuous"),
    ("torch", "FloatStorage", "innocuous"),
    ("torch._utils", "_rebuild_tensor_v2", "innocuous"),
)
MAIN_DATE = "2026-01-01T00:00:00.000Z"
PR_DATE = "2026-01-02T00:00:00.000Z"
_KEEP_HASHES = 1 << 20  # a folder file this big keeps its Blob (and hashes) until it changes


@dataclass
class FakeHub(CountsTransfers):
    """Repos live under ``root/<org>/<name>/``; add them with ``add_repo`` or by copying folders."""

    root: Path
    endpoint: str = ""
    requests: list[tuple[str, str]] = field(default_factory=list)
    gated: set[str] = field(default_factory=set)
    # Pull requests: repo id -> number -> files layered over the main files.
    prs: dict[str, dict[int, dict[str, Blob]]] = field(default_factory=dict)
    discussions: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    user: str = "reviewbot"  # whose token the client holds (whoami)
    created: dict[str, str] = field(default_factory=dict)  # repo id -> createdAt, for listings
    lfs_suffixes: tuple[str, ...] = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf")
    lfs_threshold: int = 10 * 1024 * 1024  # the Hub refuses bigger files outside LFS
    tree_page: int = 1000  # entries per tree page, as the Hub pages them
    tree_page_expanded: int = 50
    transfers: Transfers = field(default_factory=Transfers)
    security: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    commits: list[dict[str, Any]] = field(default_factory=list)  # summary, revision, files
    commits_answered_502: int = 0  # the next N commits land, then answer 502 ("done, but…")
    users: dict[str, str] = field(default_factory=dict)  # user name -> the Hub's user id
    orgs: dict[str, dict[str, str]] = field(default_factory=dict)  # org -> user name -> role
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.RLock = field(default_factory=threading.RLock)
    # resolved path on disk -> (size, mtime_ns, inode) when seen, and its Blob
    _known: dict[Path, tuple[tuple[int, int, int], Blob]] = field(default_factory=dict)

    # -- accounting -------------------------------------------------------------------------

    def served(self, repo_id: str, path: str) -> int:
        """Body bytes of ``path`` in ``repo_id`` sent since the last reset, at any revision."""
        return self.transfers.bytes_by.get(f"{repo_id}/{path}", 0)

    # -- people -------------------------------------------------------------------------------

    def add_user(self, name: str, ident: str | None = None) -> str:
        """A Hub user; returns its id (by default ``user_id(name)``, as comment events carry)."""
        with self._lock:
            uid = self.users.setdefault(name, ident or user_id(name))
        return uid

    def add_org(self, org: str, members: Mapping[str, str]) -> None:
        """An organisation whose members (user name -> role) become users too."""
        for name in members:
            self.add_user(name)
        with self._lock:
            self.orgs[org] = dict(members)

    def _person(self, name: str) -> dict[str, Any]:
        return {
            "_id": self.users[name], "user": name, "fullname": name.title(), "type": "user",
            "avatarUrl": f"/avatars/{name}.svg", "isPro": False,
        }  # fmt: skip

    # -- pull requests and discussions ------------------------------------------------------

    def open_pr(
        self, repo_id: str, files: Mapping[str, bytes | Blob], *, author: str = "contributor"
    ) -> int:
        """A pull request adding or changing ``files``; returns its number."""
        number = max(self.discussions.get(repo_id, {}), default=0) + 1
        self.prs.setdefault(repo_id, {})[number] = {p: Blob.coerce(d) for p, d in files.items()}
        self._discussion(repo_id, number, f"PR {number}", author, is_pr=True)
        return number

    def push_pr(self, repo_id: str, number: int, files: Mapping[str, bytes | Blob]) -> str:
        self.prs[repo_id][number].update({p: Blob.coerce(d) for p, d in files.items()})
        return self.commit_at(repo_id, f"refs/pr/{number}")

    def _discussion(
        self, repo_id: str, number: int, title: str, author: str, *, is_pr: bool
    ) -> dict[str, Any]:
        discussion = {
            "num": number, "title": title, "status": "open", "isPullRequest": is_pr,
            "createdAt": _now(), "author": {"name": author, "_id": user_id(author)},
            "repo": {"name": repo_id, "type": "model"}, "changes": {"base": "refs/heads/main"},
            "filesWithConflicts": [], "events": [],
        }  # fmt: skip
        self.discussions.setdefault(repo_id, {})[number] = discussion
        return discussion

    def add_comment(self, repo_id: str, number: int, text: str, *, author: str) -> dict[str, Any]:
        """A comment someone else wrote on a discussion; returns its event."""
        event = comment_event(f"c{next(self._ids):08d}", text, author)
        with self._lock:
            self.discussions[repo_id][number]["events"].append(event)
        return event

    def comments(self, repo_id: str, number: int) -> list[dict[str, Any]]:
        events = self.discussions[repo_id][number]["events"]
        return [e for e in events if e["type"] == "comment"]

    # -- files and commits ------------------------------------------------------------------

    def snapshot(self, repo_id: str, rev: str | None) -> dict[str, Blob]:
        """Files at ``rev``: a PR ref or a PR's commit layers its files over main."""
        files = {p: self.blob(repo_id, p) for p in self.files(repo_id)}
        for number, overlay in self.prs.get(repo_id, {}).items():
            layered = {**files, **overlay}
            if rev == f"refs/pr/{number}" or rev == self._commit(repo_id, layered):
                return layered
        return files

    def commit_at(self, repo_id: str, rev: str | None) -> str:
        return self._commit(repo_id, self.snapshot(repo_id, rev))

    def commit(self, repo_id: str) -> str:
        """A stable commit id for main that changes whenever a file changes."""
        return self.commit_at(repo_id, None)

    def _commit(self, repo_id: str, files: Mapping[str, Blob]) -> str:
        digest = hashlib.sha1(repo_id.encode(), usedforsecurity=False)
        for path in sorted(files):
            digest.update(path.encode() + self.oid(path, files[path]).encode())
        return digest.hexdigest()

    def is_lfs(self, path: str, blob: Blob) -> bool:
        return path.endswith(self.lfs_suffixes) or blob.size > self.lfs_threshold

    def oid(self, path: str, blob: Blob) -> str:
        """The entry's git oid: for an LFS file that of its pointer text, as on the Hub."""
        if self.is_lfs(path, blob):
            return git_blob_sha1(lfs_pointer(blob))
        return blob.git_sha1

    def entry_at(
        self, repo_id: str, rev: str | None, path: str, *, expand: bool = False
    ) -> dict[str, Any]:
        return self._entries(repo_id, rev, [path], expand=expand)[0]

    def entry(self, repo_id: str, path: str) -> dict[str, Any]:
        return self.entry_at(repo_id, None, path)

    def _entries(
        self, repo_id: str, rev: str | None, paths: Sequence[str], *, expand: bool
    ) -> list[dict[str, Any]]:
        """Tree / paths-info items for ``paths`` at ``rev``: files, or folders holding files."""
        files = self.snapshot(repo_id, rev)
        main = self.snapshot(repo_id, None) if expand else {}
        main_commit = self._commit(repo_id, main) if expand else ""
        rev_commit = self._commit(repo_id, files) if expand else ""
        entries: list[dict[str, Any]] = []
        for path in paths:
            if path not in files:
                inside = sorted(p for p in files if p.startswith(path.rstrip("/") + "/"))
                if inside:  # a folder; a path that is neither is left out, as on the Hub
                    tree = hashlib.sha1(usedforsecurity=False)
                    for p in inside:
                        tree.update(p.encode() + self.oid(p, files[p]).encode())
                    folder: dict[str, Any] = {
                        "type": "directory",
                        "oid": tree.hexdigest(),
                        "size": 0,
                        "path": path.rstrip("/"),
                    }
                    if expand:
                        folder["lastCommit"] = _last_commit(rev_commit, path, PR_DATE)
                    entries.append(folder)
                continue
            blob = files[path]
            entry: dict[str, Any] = {
                "type": "file",
                "oid": self.oid(path, blob),
                "size": blob.size,
                "path": path,
            }
            if self.is_lfs(path, blob):
                entry["lfs"] = {
                    "oid": blob.sha256,
                    "size": blob.size,
                    "pointerSize": len(lfs_pointer(blob)),
                }
            if expand:
                if path in main and self.oid(path, main[path]) == entry["oid"]:
                    entry["lastCommit"] = _last_commit(main_commit, path, MAIN_DATE)
                else:
                    entry["lastCommit"] = _last_commit(rev_commit, path, PR_DATE)
                entry["securityFileStatus"] = self.security_status(repo_id, path)
            entries.append(entry)
        return entries

    def add_repo(self, repo_id: str, files: Mapping[str, str | bytes | Blob]) -> Path:
        """Write ``files`` into the repo's folder; a file-backed Blob is linked, not copied."""
        folder = self.root / repo_id
        for rel, content in files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Blob) and content.path is not None:
                self._link(path, content)
                continue
            if path.is_symlink():
                path.unlink()  # writing through the link would overwrite the linked file
            if isinstance(content, str):
                path.write_text(content, encoding="utf-8")
            else:
                path.write_bytes(Blob.coerce(content).read())
            with self._lock:
                self._known.pop(path.resolve(), None)
        return folder

    def _link(self, path: Path, blob: Blob) -> None:
        assert blob.path is not None
        if path.resolve() != blob.path:
            if path.is_symlink() or path.exists():
                path.unlink()
            path.symlink_to(blob.path)
        with self._lock:
            self._known[blob.path] = (_stamp(blob.path), blob)

    def repo_dir(self, repo_id: str) -> Path | None:
        folder = self.root / repo_id
        return folder if repo_id.count("/") == 1 and folder.is_dir() else None

    def files(self, repo_id: str) -> list[str]:
        folder = self.repo_dir(repo_id)
        if folder is None:
            return []
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())

    def blob(self, repo_id: str, path: str) -> Blob:
        """The main branch's ``path``; a big file keeps its Blob, and hashes, until it changes."""
        folder = self.repo_dir(repo_id)
        assert folder is not None
        target = (folder / path).resolve()
        stamp = _stamp(target)
        with self._lock:
            known = self._known.get(target)
            if known is not None and known[0] == stamp:
                return known[1]
        blob = Blob.of_file(target)
        # A small file is hashed afresh each time: a rewrite of the same size can land within
        # one tick of a coarse file clock, and then its stamp would not change.
        if blob.size >= _KEEP_HASHES:
            with self._lock:
                self._known[target] = (stamp, blob)
        return blob

    def read(self, repo_id: str, path: str) -> bytes:
        return self.blob(repo_id, path).read()

    def card_data(self, repo_id: str) -> dict[str, Any] | None:
        from huggingface_hub import ModelCard

        if "README.md" not in self.files(repo_id):
            return None
        card = ModelCard(
            self.read(repo_id, "README.md").decode("utf-8"), ignore_metadata_errors=True
        )
        data: dict[str, Any] = card.data.to_dict()  # type: ignore[no-untyped-call]
        return data

    # -- the Hub's own security scan --------------------------------------------------------

    def set_security(
        self,
        repo_id: str,
        path: str,
        *,
        status: SecurityStatus,
        pickle_imports: Sequence[tuple[str, str, SafetyLevel]] | None = None,
        virus_names: Sequence[str] = (),
    ) -> None:
        """What the Hub's scan says of ``path`` (at every revision) from now on.

        ``pickle_imports`` are (module, name, safety); None keeps the default for the file's
        kind. ``virus_names`` makes the antivirus scan report a find.
        """
        scanned = status != "unscanned" or pickle_imports is not None or bool(virus_names)
        av = {"virusFound": bool(virus_names), "virusNames": list(virus_names) or None}
        self.security[(repo_id, path)] = {
            "status": status,
            "avScan": av if scanned else None,
            "pickleImportScan": (
                _pickle_scan(pickle_imports)
                if pickle_imports is not None
                else _default_pickle_scan(path)
                if scanned
                else None
            ),
        }

    def security_status(self, repo_id: str, path: str) -> dict[str, Any]:
        """The ``securityFileStatus`` of ``path``: what ``set_security`` said, else safe."""
        found = self.security.get((repo_id, path))
        if found is not None:
            return copy.deepcopy(found)  # the caller cannot change ours through it
        return {
            "status": "safe",
            "avScan": {"virusFound": False, "virusNames": None},
            "pickleImportScan": _default_pickle_scan(path),
        }


def user_id(name: str) -> str:
    """A stable stand-in for the Hub's user ``_id`` (24 hex digits, as the Hub's are)."""
    return hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:24]


def comment_event(event_id: str, text: str, author: str) -> dict[str, Any]:
    return {
        "id": event_id, "type": "comment", "createdAt": _now(),
        "author": {"name": author, "_id": user_id(author)},
        "data": {"edited": False, "hidden": False, "latest": {"raw": text, "html": text}},
    }  # fmt: skip


def _stamp(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns, st.st_ino


def _last_commit(commit: str, path: str, date: str) -> dict[str, str]:
    return {"id": commit, "title": f"Upload {path}", "date": date}


def _pickle_scan(imports: Sequence[tuple[str, str, SafetyLevel]]) -> dict[str, Any]:
    highest = max((_LEVELS.index(s) for _m, _n, s in imports), default=0)
    return {
        "highestSafetyLevel": _LEVELS[highest],
        "imports": [{"module": m, "name": n, "safety": s} for m, n, s in imports],
    }


def _default_pickle_scan(path: str) -> dict[str, Any] | None:
    """A torch checkpoint's benign imports for a pickle-kind file; nothing to scan otherwise."""
    return _pickle_scan(TORCH_IMPORTS) if path.endswith(PICKLE_SUFFIXES) else None


def _flag(values: Sequence[Any] | None) -> bool:
    """A boolean query or form field as clients spell it: true / True / 1."""
    if not values:
        return False
    return str(values[-1]).lower() in ("true", "1")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _split_repo(parts: list[str]) -> tuple[str, list[str]]:
    return "/".join(parts[:2]), parts[2:]


def make_handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def do_HEAD(self) -> None:
            self._route(head=True)

        def do_GET(self) -> None:
            self._route(head=False)

        def do_POST(self) -> None:
            self._route(head=False)

        def _route(self, head: bool) -> None:
            url = urlsplit(self.path)
            with hub._lock:
                hub.requests.append((self.command, url.path))
            parts = [unquote(p) for p in url.path.strip("/").split("/")]
            if parts == ["api", "models"] and self.command == "GET":
                self._list_models(parse_qs(url.query))
            elif parts == ["api", "validate-yaml"] and self.command == "POST":
                self._validate_yaml()
            elif (
                len(parts) == 4 and parts[:2] == ["api", "organizations"] and parts[3] == "members"
            ):
                self._members(parts[2])
            elif len(parts) == 4 and parts[:2] == ["api", "users"] and parts[3] == "overview":
                if parts[2] not in hub.users:
                    self._send(404, {"error": "User not found"})
                else:
                    self._send(200, {**hub._person(parts[2]), "numModels": 0, "orgs": []})
            elif parts == ["api", "whoami-v2"]:
                self._send(200, {"type": "user", "name": hub.user, "orgs": []})
            elif parts[:2] == ["api", "models"] and len(parts) >= 4:
                repo_id, rest = _split_repo(parts[2:])
                self._api(repo_id, rest, parse_qs(url.query))
            elif len(parts) >= 5 and parts[2] == "resolve":
                self._resolve(f"{parts[0]}/{parts[1]}", "/".join(parts[4:]), head, parts[3])
            else:
                self._send(404, {"error": "Not found"}, code="EntryNotFound")

        def _members(self, org: str) -> None:
            members = hub.orgs.get(org)
            if members is None:
                self._send(404, {"error": "Organization not found"})
                return
            self._send(200, [{**hub._person(n), "role": r} for n, r in sorted(members.items())])

        def _api(self, repo_id: str, rest: list[str], query: dict[str, list[str]]) -> None:
            if hub.repo_dir(repo_id) is None:
                self._send(404, {"error": "Repository not found"}, code="RepoNotFound")
                return
            if repo_id in hub.gated and "authorization" not in {k.lower() for k in self.headers}:
                self._send(401, {"error": "Access to this model is restricted"}, code="GatedRepo")
                return
            if rest and rest[0] == "discussions":
                self._discussions(repo_id, rest[1:], query)
                return
            if rest and rest[0] in ("preupload", "commit") and self.command == "POST":
                # huggingface_hub quotes the revision (refs%2Fpr%2F1); accept it either way
                revision = "/".join(rest[1:])
                if rest[0] == "preupload":
                    self._preupload(repo_id)
                else:
                    self._commit(repo_id, revision)
                return
            rev = (
                rest[1]
                if len(rest) >= 2 and rest[0] in ("revision", "tree", "paths-info")
                else None
            )
            if not rest or rest[0] == "revision":
                files = hub.snapshot(repo_id, rev)
                sha = hub._commit(repo_id, files)
                self._send(
                    200,
                    {
                        "_id": sha[:24],
                        "id": repo_id,
                        "modelId": repo_id,
                        "sha": sha,
                        "private": False,
                        "gated": False,
                        "disabled": False,
                        "downloads": 0,
                        "likes": 0,
                        "tags": [],
                        "lastModified": "2026-01-01T00:00:00.000Z",
                        "createdAt": "2026-01-01T00:00:00.000Z",
                        "siblings": [{"rfilename": f} for f in sorted(files)],
                        "cardData": hub.card_data(repo_id),
                    },
                )
            elif rest[0] == "tree":
                self._tree(repo_id, rev, "/".join(rest[2:]), query)
            elif rest[0] == "paths-info":
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                form: dict[str, Any] = parse_qs(body)
                if body.lstrip().startswith("{"):
                    data = json.loads(body)
                    form = {"paths": data.get("paths", []), "expand": [data.get("expand")]}
                expand = _flag(form.get("expand"))
                self._send(200, hub._entries(repo_id, rev, form.get("paths", []), expand=expand))
            else:
                self._send(404, {"error": "Not found"})

        def _tree(
            self, repo_id: str, rev: str | None, prefix: str, query: dict[str, list[str]]
        ) -> None:
            expand = _flag(query.get("expand"))
            paths = [
                f
                for f in sorted(hub.snapshot(repo_id, rev))
                if not prefix or f.startswith(prefix + "/")
            ]
            size = hub.tree_page_expanded if expand else hub.tree_page
            start = int(query.get("cursor", ["0"])[0])
            page = paths[start : start + size]
            headers = {}
            if start + size < len(paths):
                # the Hub's cursor is opaque; an offset is all a client may rely on it being
                following = {k: v[-1] for k, v in query.items()} | {"cursor": str(start + size)}
                url = f"{hub.endpoint}{urlsplit(self.path).path}?{urlencode(following)}"
                headers["Link"] = f'<{url}>; rel="next"'
            self._send(200, hub._entries(repo_id, rev, page, expand=expand), headers=headers)

        def _resolve(self, repo_id: str, path: str, head: bool, rev: str | None = None) -> None:
            if hub.repo_dir(repo_id) is None:
                self._send(404, {"error": "Repository not found"}, code="RepoNotFound", head=head)
                return
            files = hub.snapshot(repo_id, rev)
            sha = hub._commit(repo_id, files)
            if path not in files:
                self._send(
                    404, {"error": "Entry not found"}, code="EntryNotFound", head=head, commit=sha
                )
                return
            blob = files[path]
            headers = {"X-Repo-Commit": sha}
            if hub.is_lfs(path, blob):
                # the Hub names an LFS file by its sha256: no full sha1 read of a big file
                headers["ETag"] = headers["X-Linked-Etag"] = f'"{blob.sha256}"'
                headers["X-Linked-Size"] = str(blob.size)
            else:
                headers["ETag"] = f'"{blob.git_sha1}"'
            send_blob(
                self,
                blob,
                key=f"{repo_id}/{path}",
                transfers=hub.transfers,
                head=head,
                headers=headers,
            )

        def _list_models(self, query: dict[str, list[str]]) -> None:
            """``list_models``: the repositories whose tags (their card's ``base_model`` as
            ``base_model:<id>``) include every ``filter``, newest first."""
            wanted = set(query.get("filter", []))
            found = []
            for folder in sorted(hub.root.glob("*/*")):
                repo_id = f"{folder.parent.name}/{folder.name}"
                card = hub.card_data(repo_id) or {}
                bases = card.get("base_model") or []
                bases = [bases] if isinstance(bases, str) else list(bases)
                tags = [f"base_model:{b}" for b in bases]
                if wanted <= set(tags):
                    created = hub.created.get(repo_id, MAIN_DATE)
                    oid = hashlib.sha1(repo_id.encode(), usedforsecurity=False).hexdigest()
                    found.append({
                        "_id": oid[:24],
                        "id": repo_id, "modelId": repo_id, "author": folder.parent.name,
                        "tags": tags, "createdAt": created, "lastModified": created,
                        "private": False, "downloads": 0, "likes": 0,
                    })  # fmt: skip
            found.sort(key=lambda item: item["createdAt"], reverse=True)
            self._send(200, found[: int(query.get("limit", ["1000"])[0])])

        def _discussions(self, repo_id: str, rest: list[str], query: dict[str, list[str]]) -> None:
            threads = hub.discussions.setdefault(repo_id, {})
            body: dict[str, Any] = {}
            if self.command == "POST":
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
            if not rest and self.command == "GET":
                author = query.get("author", [None])[0]
                found = [
                    {k: v for k, v in d.items() if k != "events"}
                    for d in threads.values()
                    if author is None or d["author"]["name"] == author
                ]
                self._send(200, {"discussions": found, "count": len(found), "start": 0})
            elif not rest and self.command == "POST":
                number = max(threads, default=0) + 1
                discussion = hub._discussion(repo_id, number, body["title"], hub.user, is_pr=False)
                discussion["events"].append(self._comment_event(body.get("description", "")))
                self._send(200, {"num": number})
            elif len(rest) == 1 and self.command == "GET":
                self._send(200, threads[int(rest[0])])
            elif rest[1:] == ["comment"] and self.command == "POST":
                event = self._comment_event(body["comment"])
                threads[int(rest[0])]["events"].append(event)
                self._send(200, {"newMessage": event})
            elif rest[1:2] == ["comment"] and rest[3:] == ["edit"] and self.command == "POST":
                for event in threads[int(rest[0])]["events"]:
                    if event["id"] == rest[2]:
                        if event["author"]["name"] != hub.user:
                            self._send(403, {"error": "not your comment"})
                            return
                        event["data"]["latest"]["raw"] = body["content"]
                        event["data"]["edited"] = True
                        self._send(200, {"updatedComment": event})
                        return
                self._send(404, {"error": "Comment not found"})
            else:
                self._send(404, {"error": "Not found"})

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _validate_yaml(self) -> None:
            import yaml  # type: ignore[import-untyped]

            content = json.loads(self._body() or b"{}").get("content", "")
            if content.startswith("---\n"):
                front = content[4:].split("\n---", 1)[0]
                try:
                    yaml.safe_load(front)
                except yaml.YAMLError:
                    self._send(400, {"error": "Invalid metadata in README.md."})
                    return
            self._send(200, {"errors": [], "warnings": []})

        def _preupload(self, repo_id: str) -> None:
            files = json.loads(self._body() or b"{}").get("files", [])
            modes = [
                {
                    "path": f["path"],
                    "uploadMode": "lfs"
                    if f["path"].endswith(hub.lfs_suffixes) or f["size"] > hub.lfs_threshold
                    else "regular",
                    "shouldIgnore": False,
                }
                for f in files
            ]
            self._send(200, {"files": modes, "commitOid": hub.commit(repo_id)})

        def _commit(self, repo_id: str, revision: str) -> None:
            lines = [json.loads(ln) for ln in self._body().splitlines() if ln.strip()]
            header = next((ln["value"] for ln in lines if ln.get("key") == "header"), {})
            files: dict[str, Blob] = {}
            for line in lines:
                if line.get("key") == "file" and line["value"].get("encoding") == "base64":
                    data = base64.b64decode(line["value"]["content"])
                    files[line["value"]["path"]] = Blob.of_bytes(data)
                elif line.get("key") not in ("header", "file"):
                    self._send(400, {"error": f"unsupported commit line {line.get('key')}"})
                    return
            with hub._lock:
                parent = header.get("parentCommit")
                if parent is not None and parent != hub.commit_at(repo_id, revision):
                    self._send(412, {"error": "Parent commit is not the revision's head"})
                    return
                match = re.fullmatch(r"refs/pr/(\d+)", revision)
                if match is None or int(match[1]) not in hub.prs.get(repo_id, {}):
                    self._send(400, {"error": "this fake commits to pull requests only"})
                    return
                number = int(match[1])
                hub.prs[repo_id][number].update(files)
                sha = hub.commit_at(repo_id, revision)
                hub.commits.append({"revision": revision, "summary": header.get("summary"),
                                    "files": sorted(files), "oid": sha})  # fmt: skip
                hub.discussions[repo_id][number]["events"].append({
                    "id": f"c{next(hub._ids):08d}", "type": "commit", "createdAt": _now(),
                    "author": {"name": hub.user, "_id": user_id(hub.user)},
                    "data": {"subject": header.get("summary", ""), "oid": sha},
                })  # fmt: skip
            if hub.commits_answered_502 > 0:
                hub.commits_answered_502 -= 1
                self._send(502, {"error": "Bad Gateway"})
                return
            self._send(200, {"success": True, "commitOid": sha,
                             "commitUrl": f"{hub.endpoint}/{repo_id}/commit/{sha}"})  # fmt: skip

        def _comment_event(self, text: str) -> dict[str, Any]:
            return comment_event(f"c{next(hub._ids):08d}", text, hub.user)

        def _send(
            self,
            status: int,
            body: Any,
            *,
            code: str | None = None,
            head: bool = False,
            commit: str | None = None,
            headers: Mapping[str, str] | None = None,
        ) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if code:
                self.send_header("X-Error-Code", code)
                self.send_header("X-Error-Message", str(body.get("error", "")))
            if commit:
                self.send_header("X-Repo-Commit", commit)
            self.end_headers()
            if not head:
                self.wfile.write(payload)

    return Handler


def serve(root: Path) -> Iterator[FakeHub]:
    """Start a FakeHub on an ephemeral loopback port for the duration of the generator."""
    hub = FakeHub(root=root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(hub))
    hub.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    # polled often: shutdown, at every fixture teardown, waits up to one interval
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
