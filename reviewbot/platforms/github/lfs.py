"""Git LFS on GitHub: pointers in diffs and files, batch download links, streamed downloads."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import requests

from reviewbot.errors import PermanentError, TransientError, error_for_status
from reviewbot.platforms.base import ChangedFile
from reviewbot.platforms.github.errors import raise_for

LFS_POINTER_MAX = 1024  # a pointer file is ~130 bytes; anything larger is real content
LFS_POINTER = re.compile(
    rb"\Aversion https://git-lfs\.github\.com/spec/v1\n"
    rb"oid sha256:(?P<oid>[0-9a-f]{64})\nsize (?P<size>[0-9]+)\n?\Z"
)
_PATCH_OID = re.compile(r"^\+oid sha256:([0-9a-f]{64})$", re.MULTILINE)
_PATCH_SIZE = re.compile(r"^\+size ([0-9]+)$", re.MULTILINE)
_CHUNK = 1 << 20


def changed_file(
    path: str, status: str, patch: str | None, blob_sha: str | None = None
) -> ChangedFile:
    """A listed file; an LFS pointer's diff already names the object's oid and size."""
    oid = size = None
    if patch and "git-lfs.github.com/spec" in patch:
        oid_match, size_match = _PATCH_OID.search(patch), _PATCH_SIZE.search(patch)
        oid = oid_match.group(1) if oid_match else None
        size = int(size_match.group(1)) if size_match else None
    return ChangedFile(path=path, status=status, size=size, lfs_sha256=oid, blob_sha=blob_sha)


def stays_remote(size: int, remote_min_bytes: int | None) -> bool:
    return remote_min_bytes is not None and size >= remote_min_bytes


def read_pointer(path: Path) -> tuple[str, int] | None:
    if path.stat().st_size > LFS_POINTER_MAX:
        return None
    match = LFS_POINTER.match(path.read_bytes())
    if match is None:
        return None
    return match.group("oid").decode(), int(match.group("size"))


def stream(
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
            raise_for(resp, "download")
            with dest.open("wb") as out:
                for chunk in resp.iter_content(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    written += len(chunk)
    except requests.RequestException as exc:
        raise TransientError(f"download interrupted: {type(exc).__name__}") from exc
    return digest.hexdigest(), written


def download_actions(
    session: requests.Session,
    html_url: str,
    token: str,
    pointers: dict[str, tuple[str, int]],
    *,
    timeout: int,
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
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise TransientError(f"LFS batch request failed: {type(exc).__name__}") from exc
    raise_for(answer, "LFS batch")
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
