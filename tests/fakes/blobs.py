"""File contents for the fakes, in memory or on disk, hashed lazily and served by byte range."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Protocol

SEND_CHUNK = 1 << 20  # bytes per socket write: a big file never sits in memory whole
HASH_CHUNK = 8 << 20
LFS_SPEC = "https://git-lfs.github.com/spec/v1"

# One range only: a multi-range request is answered whole, which RFC 9110 allows.
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class _Writer(Protocol):
    def write(self, data: bytes, /) -> int: ...


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


class Blob:
    """A file's contents: ``bytes`` in memory or a path on disk, read only when asked.

    ``sha256`` and ``git_sha1`` are computed on first use and kept: for a multi-gigabyte file
    each is a full read, so a route that can do without one (an LFS entry names its pointer's
    sha1, not its content's) never pays for it.
    """

    __slots__ = ("_data", "_git_sha1", "_lock", "_sha256", "path", "size")

    def __init__(
        self, *, size: int, data: bytes | None = None, path: Path | None = None, sha256: str | None
    ) -> None:
        if (data is None) == (path is None):
            raise ValueError("a Blob holds either bytes or a path")
        self.size = size
        self.path = path
        self._data = data
        self._sha256 = sha256
        self._git_sha1: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def of_bytes(cls, data: bytes) -> Blob:
        return cls(size=len(data), data=bytes(data), sha256=None)

    @classmethod
    def of_file(cls, path: str | os.PathLike[str], sha256: str | None = None) -> Blob:
        """The file at ``path`` as it is now (size from stat); ``sha256`` spares a full read."""
        resolved = Path(path).resolve()
        if not resolved.is_file():
            raise FileNotFoundError(resolved)
        return cls(size=resolved.stat().st_size, path=resolved, sha256=sha256)

    @classmethod
    def coerce(cls, value: bytes | Blob) -> Blob:
        """What call sites that still pass ``bytes`` mean."""
        return value if isinstance(value, Blob) else cls.of_bytes(value)

    @property
    def in_memory(self) -> bool:
        return self._data is not None

    @property
    def sha256(self) -> str:
        with self._lock:
            if self._sha256 is None:
                self._sha256 = self._digest(hashlib.sha256())
            return self._sha256

    @property
    def git_sha1(self) -> str:
        """The git blob id: sha1 over ``blob <size>\\0`` and the contents."""
        with self._lock:
            if self._git_sha1 is None:
                digest = hashlib.sha1(b"blob %d\0" % self.size, usedforsecurity=False)
                self._git_sha1 = self._digest(digest)
            return self._git_sha1

    def _digest(self, digest: _Digest) -> str:
        for chunk in self.chunks(chunk=HASH_CHUNK):
            digest.update(chunk)
        return digest.hexdigest()

    def read(self, offset: int = 0, length: int | None = None) -> bytes:
        """``length`` bytes from ``offset`` (to the end when None); short at the end."""
        end = self.size if length is None else min(self.size, offset + length)
        if self._data is not None:
            return self._data[offset:end]
        assert self.path is not None
        with self.path.open("rb") as f:
            f.seek(offset)
            return f.read(max(0, end - offset))

    def chunks(
        self, offset: int = 0, length: int | None = None, *, chunk: int = SEND_CHUNK
    ) -> Iterator[bytes]:
        """The range's bytes, at most ``chunk`` at a time."""
        end = self.size if length is None else min(self.size, offset + length)
        if self._data is not None:
            view = memoryview(self._data)
            for start in range(offset, end, chunk):
                yield bytes(view[start : min(end, start + chunk)])
            return
        assert self.path is not None
        with self.path.open("rb") as f:
            f.seek(offset)
            left = end - offset
            while left > 0:
                piece = f.read(min(chunk, left))
                if not piece:
                    raise OSError(f"{self.path} shrank while being read")
                yield piece
                left -= len(piece)

    def send(
        self,
        out: _Writer,
        offset: int = 0,
        length: int | None = None,
        *,
        before: Callable[[int], None] | None = None,
    ) -> int:
        """Write the range to ``out`` in 1 MiB chunks; ``before(n)`` runs ahead of each write.

        Counting ahead of the write matters: a client may finish reading, and its test assert,
        before this thread runs again. A write the client hung up on still counts whole (how
        much of it went out is unknown), so counts bound from above what a client received.
        Returns the bytes written.
        """
        sent = 0
        for piece in self.chunks(offset, length):
            if before is not None:
                before(len(piece))
            out.write(piece)
            sent += len(piece)
        return sent

    def startswith(self, prefix: bytes) -> bool:
        return self.read(0, len(prefix)) == prefix

    def __repr__(self) -> str:
        where = "memory" if self._data is not None else str(self.path)
        return f"Blob(size={self.size}, {where})"


def lfs_pointer(data: bytes | Blob) -> bytes:
    """The Git LFS pointer text committed in place of ``data``."""
    blob = Blob.coerce(data)
    return f"version {LFS_SPEC}\noid sha256:{blob.sha256}\nsize {blob.size}\n".encode()


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class RangeNotSatisfiable(ValueError):
    """The ``Range`` header names no byte of the file: 416."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """[start, end) that ``Range`` asks for; None to send the whole body (no or ignored header).

    ``bytes=A-B``, ``bytes=A-`` and ``bytes=-N`` (the last N); a header that does not parse, or
    has B < A, is ignored as RFC 9110 says; a start at or past the end cannot be satisfied.
    """
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip().replace(" ", ""))
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if not first:  # a suffix: the last N bytes
        wanted = int(last)
        if wanted == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - wanted), size
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable(header)
    return start, min(size, int(last) + 1) if last else size


@dataclass(frozen=True)
class Transfer:
    """One file-content request: what was asked, how it was answered, what body went out."""

    key: str
    method: str
    range: str | None
    status: int


class Transfers:
    """Thread-safe tally of file-content responses: requests and body bytes, in all and per key.

    A request counts when a file route answers it (GET only: a HEAD carries no body). Bytes count
    as they are handed to the socket, 1 MiB at a time: exact once a client has read its whole
    response; when it hangs up early, an upper bound on what it got.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.bytes = 0
        self.requests = 0
        self._bytes_by: dict[str, int] = {}
        self._requests_by: dict[str, int] = {}
        self._log: list[Transfer] = []

    def request(self, transfer: Transfer) -> None:
        with self._lock:
            self.requests += 1
            self._requests_by[transfer.key] = self._requests_by.get(transfer.key, 0) + 1
            self._log.append(transfer)

    def sent(self, key: str, n: int) -> None:
        with self._lock:
            self.bytes += n
            self._bytes_by[key] = self._bytes_by.get(key, 0) + n

    @property
    def bytes_by(self) -> dict[str, int]:
        with self._lock:
            return dict(self._bytes_by)

    @property
    def requests_by(self) -> dict[str, int]:
        with self._lock:
            return dict(self._requests_by)

    @property
    def log(self) -> list[Transfer]:
        with self._lock:
            return list(self._log)

    def reset(self) -> None:
        with self._lock:
            self.bytes = self.requests = 0
            self._bytes_by.clear()
            self._requests_by.clear()
            self._log.clear()


class CountsTransfers:
    """What tests assert on: a fake's file-content requests and body bytes since the last reset.

    Which routes count is the fake's business (raw contents and LFS objects, Hub resolves).
    """

    transfers: Transfers

    @property
    def bytes_served(self) -> int:
        """Body bytes of file-content responses since the last reset."""
        return self.transfers.bytes

    @property
    def file_requests(self) -> int:
        """GET requests the file-content routes answered since the last reset."""
        return self.transfers.requests

    @property
    def bytes_by_path(self) -> dict[str, int]:
        """Body bytes per file key (the fake's docstring says which key)."""
        return self.transfers.bytes_by

    @property
    def requests_by_path(self) -> dict[str, int]:
        return self.transfers.requests_by

    def reset_counters(self) -> None:
        self.transfers.reset()


def send_blob(
    handler: BaseHTTPRequestHandler,
    blob: Blob,
    *,
    key: str,
    transfers: Transfers,
    head: bool = False,
    ranges: bool = True,
    headers: Mapping[str, str] | None = None,
) -> int:
    """Answer with ``blob``: 200 whole, 206 for a satisfiable ``Range``, 416 for another.

    With ``ranges=False`` a ``Range`` header is ignored (GitHub's contents API). Returns the
    status sent. A client that hangs up mid-body ends the connection, not the server thread.
    """
    asked = handler.headers.get("Range") if ranges else None
    try:
        span = parse_range(asked, blob.size)
    except RangeNotSatisfiable:
        status = 416
    else:
        status = 200 if span is None else 206
    if not head:
        transfers.request(Transfer(key, handler.command, asked, status))
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    if status == 416:
        handler.send_header("Content-Range", f"bytes */{blob.size}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return status
    start, end = span if span is not None else (0, blob.size)
    if span is not None:
        handler.send_header("Content-Range", f"bytes {start}-{end - 1}/{blob.size}")
    elif ranges:
        handler.send_header("Accept-Ranges", "bytes")
    handler.send_header("Content-Type", "application/octet-stream")
    handler.send_header("Content-Length", str(end - start))
    handler.end_headers()
    if head:
        return status
    try:
        blob.send(handler.wfile, start, end - start, before=lambda n: transfers.sent(key, n))
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True  # the reader stopped early, as range readers may
    return status
