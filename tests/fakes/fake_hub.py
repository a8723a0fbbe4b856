"""A fake Hugging Face Hub on 127.0.0.1 serving repos from folders to huggingface_hub's client.

Routes (those huggingface_hub 2.x calls): ``GET /api/models/{id}[/revision/{rev}]`` (model_info with
``sha``, ``siblings`` and ``cardData``), ``GET /api/models/{id}/tree/{rev}[/{path}]``,
``POST /api/models/{id}/paths-info/{rev}``, and ``HEAD``/``GET /{id}/resolve/{rev}/{path}`` with
``X-Repo-Commit``, ``ETag`` and ``Content-Length``. Every request is logged in ``FakeHub.requests``.
Resolve honours ``Range`` (206 with ``Content-Range``); ``bytes_served`` counts resolve body bytes.

Pull requests (added for the service tests): ``open_pr`` layers files over a repo as ``refs/pr/N``
with a commit of its own, served by the revision, tree, paths-info and resolve routes (weights
carry ``lfs`` with their sha256); ``GET /api/models/{id}/discussions[/{num}]``,
``POST .../discussions`` (create), ``POST .../discussions/{num}/comment`` and
``POST .../comment/{id}/edit``, and ``GET /api/whoami-v2``. Unknown revisions serve the main files.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass
class FakeHub:
    """Repos live under ``root/<org>/<name>/``; add them with ``add_repo`` or by copying folders."""

    root: Path
    endpoint: str = ""
    requests: list[tuple[str, str]] = field(default_factory=list)
    gated: set[str] = field(default_factory=set)
    # Pull requests: repo id -> number -> files layered over the main files.
    prs: dict[str, dict[int, dict[str, bytes]]] = field(default_factory=dict)
    discussions: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    user: str = "reviewbot"  # whose token the client holds (whoami)
    lfs_suffixes: tuple[str, ...] = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf")
    bytes_served: int = 0  # resolve body bytes, for range-read bounds
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def open_pr(
        self, repo_id: str, files: Mapping[str, bytes], *, author: str = "contributor"
    ) -> int:
        """A pull request adding or changing ``files``; returns its number."""
        number = max(self.discussions.get(repo_id, {}), default=0) + 1
        self.prs.setdefault(repo_id, {})[number] = dict(files)
        self._discussion(repo_id, number, f"PR {number}", author, is_pr=True)
        return number

    def push_pr(self, repo_id: str, number: int, files: Mapping[str, bytes]) -> str:
        self.prs[repo_id][number].update(files)
        return self.commit_at(repo_id, f"refs/pr/{number}")

    def _discussion(
        self, repo_id: str, number: int, title: str, author: str, *, is_pr: bool
    ) -> dict[str, Any]:
        discussion = {
            "num": number, "title": title, "status": "open", "isPullRequest": is_pr,
            "createdAt": _now(), "author": {"name": author},
            "repo": {"name": repo_id, "type": "model"}, "changes": {"base": "refs/heads/main"},
            "filesWithConflicts": [], "events": [],
        }  # fmt: skip
        self.discussions.setdefault(repo_id, {})[number] = discussion
        return discussion

    def comments(self, repo_id: str, number: int) -> list[dict[str, Any]]:
        events = self.discussions[repo_id][number]["events"]
        return [e for e in events if e["type"] == "comment"]

    def snapshot(self, repo_id: str, rev: str | None) -> dict[str, bytes]:
        """Files at ``rev``: a PR ref or a PR's commit layers its files over main."""
        files = {p: self.read(repo_id, p) for p in self.files(repo_id)}
        for number, overlay in self.prs.get(repo_id, {}).items():
            ref = f"refs/pr/{number}"
            if rev == ref or rev == _commit_of(repo_id, {**files, **overlay}):
                return {**files, **overlay}
        return files

    def commit_at(self, repo_id: str, rev: str | None) -> str:
        return _commit_of(repo_id, self.snapshot(repo_id, rev))

    def entry_at(self, repo_id: str, rev: str | None, path: str) -> dict[str, Any]:
        data = self.snapshot(repo_id, rev)[path]
        entry: dict[str, Any] = {
            "type": "file",
            "oid": git_blob_sha1(data),
            "size": len(data),
            "path": path,
        }
        if path.endswith(self.lfs_suffixes):
            entry["lfs"] = {
                "oid": hashlib.sha256(data).hexdigest(),
                "size": len(data),
                "pointerSize": 134,
            }
        return entry

    def add_repo(self, repo_id: str, files: Mapping[str, str | bytes]) -> Path:
        folder = self.root / repo_id
        for rel, content in files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, str):
                path.write_text(content, encoding="utf-8")
            else:
                path.write_bytes(content)
        return folder

    def repo_dir(self, repo_id: str) -> Path | None:
        folder = self.root / repo_id
        return folder if repo_id.count("/") == 1 and folder.is_dir() else None

    def commit(self, repo_id: str) -> str:
        """A stable commit id that changes whenever a file changes."""
        digest = hashlib.sha1(repo_id.encode(), usedforsecurity=False)
        for path in self.files(repo_id):
            digest.update(path.encode() + git_blob_sha1(self.read(repo_id, path)).encode())
        return digest.hexdigest()

    def files(self, repo_id: str) -> list[str]:
        folder = self.repo_dir(repo_id)
        if folder is None:
            return []
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())

    def read(self, repo_id: str, path: str) -> bytes:
        folder = self.repo_dir(repo_id)
        assert folder is not None
        return (folder / path).read_bytes()

    def card_data(self, repo_id: str) -> dict[str, Any] | None:
        from huggingface_hub import ModelCard

        if "README.md" not in self.files(repo_id):
            return None
        card = ModelCard(
            self.read(repo_id, "README.md").decode("utf-8"), ignore_metadata_errors=True
        )
        return card.data.to_dict()

    def entry(self, repo_id: str, path: str) -> dict[str, Any]:
        data = self.read(repo_id, path)
        return {"type": "file", "oid": git_blob_sha1(data), "size": len(data), "path": path}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _commit_of(repo_id: str, files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha1(repo_id.encode(), usedforsecurity=False)
    for path in sorted(files):
        digest.update(path.encode() + git_blob_sha1(files[path]).encode())
    return digest.hexdigest()


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``bytes=A-B`` or ``bytes=A-`` within the file as [start, end); None serves it whole."""
    if not header or not header.startswith("bytes="):
        return None
    first, _, last = header.removeprefix("bytes=").partition("-")
    if not first.isdigit() or (last and not last.isdigit()) or int(first) >= size:
        return None
    return int(first), min(size, int(last) + 1) if last else size


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
            hub.requests.append((self.command, url.path))
            parts = [unquote(p) for p in url.path.strip("/").split("/")]
            if parts == ["api", "whoami-v2"]:
                self._send(200, {"type": "user", "name": hub.user, "orgs": []})
            elif parts[:2] == ["api", "models"] and len(parts) >= 4:
                repo_id, rest = _split_repo(parts[2:])
                self._api(repo_id, rest, parse_qs(url.query))
            elif len(parts) >= 5 and parts[2] == "resolve":
                self._resolve(f"{parts[0]}/{parts[1]}", "/".join(parts[4:]), head, parts[3])
            else:
                self._send(404, {"error": "Not found"}, code="EntryNotFound")

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
            rev = (
                rest[1]
                if len(rest) >= 2 and rest[0] in ("revision", "tree", "paths-info")
                else None
            )
            sha = hub.commit_at(repo_id, rev)
            if not rest or rest[0] == "revision":
                files = sorted(hub.snapshot(repo_id, rev))
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
                        "siblings": [{"rfilename": f} for f in files],
                        "cardData": hub.card_data(repo_id),
                    },
                )
            elif rest[0] == "tree":
                prefix = "/".join(rest[2:])
                entries = [
                    hub.entry_at(repo_id, rev, f)
                    for f in sorted(hub.snapshot(repo_id, rev))
                    if not prefix or f.startswith(prefix + "/")
                ]
                self._send(200, entries)
            elif rest[0] == "paths-info":
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                form = parse_qs(body)
                paths = form.get("paths", []) or (
                    json.loads(body).get("paths", []) if body.startswith("{") else []
                )
                known = set(hub.snapshot(repo_id, rev))
                self._send(200, [hub.entry_at(repo_id, rev, p) for p in paths if p in known])
            else:
                self._send(404, {"error": "Not found"})

        def _resolve(self, repo_id: str, path: str, head: bool, rev: str | None = None) -> None:
            if hub.repo_dir(repo_id) is None:
                self._send(404, {"error": "Repository not found"}, code="RepoNotFound", head=head)
                return
            files = hub.snapshot(repo_id, rev)
            sha = _commit_of(repo_id, files)
            if path not in files:
                self._send(
                    404, {"error": "Entry not found"}, code="EntryNotFound", head=head, commit=sha
                )
                return
            data = files[path]
            etag = f'"{git_blob_sha1(data)}"'
            span = _byte_range(self.headers.get("Range"), len(data))
            if span is None:
                self.send_response(200)
                self.send_header("Accept-Ranges", "bytes")
                body = data
            else:
                start, end = span
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
                body = data[start:end]
            self.send_header("X-Repo-Commit", sha)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if not head:
                hub.bytes_served += len(body)  # before the write: the client may finish first
                self.wfile.write(body)

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

        def _comment_event(self, text: str) -> dict[str, Any]:
            return {
                "id": f"c{next(hub._ids):08d}", "type": "comment", "createdAt": _now(),
                "author": {"name": hub.user},
                "data": {"edited": False, "hidden": False, "latest": {"raw": text, "html": text}},
            }  # fmt: skip

        def _send(
            self,
            status: int,
            body: Any,
            *,
            code: str | None = None,
            head: bool = False,
            commit: str | None = None,
        ) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
