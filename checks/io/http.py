"""A byte source over HTTP range requests: a remote file is scanned without downloading it."""

from __future__ import annotations

import re
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

import requests

from checks.io.limits import LimitExceeded
from checks.io.source import LocalFile, SourceReadError, read_chunks

BLOCK = 64 << 10
MAX_READ_AHEAD = 8 << 20
CACHE_BYTES = 64 << 20
MAX_REDIRECTS = 5
DOWNLOAD_CHUNK = 1 << 20
TIMEOUT = (10.0, 60.0)  # connect, read
# A range read that breaks (a reset connection, a short body, a 5xx or a rate limit) is tried
# this many times, after a short pause, before it is a finding: one flaky read must not fail a
# contribution as unreadable.
RANGE_ATTEMPTS = 4
RETRY_PAUSE = 0.25  # seconds, doubled each time
MAX_RETRY_WAIT = 10.0  # a longer Retry-After is not waited out inside a scan
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# Headers that carry credentials: they go only to the host they were given for.
_AUTH_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


class _BrokenRead(SourceReadError):
    """A read that may well succeed when tried again."""

    def __init__(self, message: str, *, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class HttpRangeSource:
    """A remote file read in aligned blocks through ``Range`` requests.

    Neighbouring reads share blocks, so a parser's small reads coalesce into few requests, and a
    run of sequential reads grows its read-ahead. More than ``max_requests`` requests raise
    ``LimitExceeded``. A server that ignores ``Range`` answers with the whole body: that body is
    then downloaded (at most ``max_download_bytes``) into a temporary file, ``fell_back`` is set
    and reads are served from it. ``bytes_read`` counts the body bytes transferred.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        size: int | None = None,
        max_requests: int = 256,
        max_download_bytes: int = 4 << 30,
        block_size: int = BLOCK,
        session: requests.Session | None = None,
    ) -> None:
        self.url = url
        self._headers = dict(headers or {})
        self._origin = _origin(url)
        self._size = size
        self.max_requests = max_requests
        self.max_download_bytes = max_download_bytes
        self._block = block_size
        self._session = session or requests.Session()
        self._own_session = session is None
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._last_end = -1
        self._ahead = 0
        self._spool: IO[bytes] | None = None
        self._local: LocalFile | None = None
        self.requests = 0
        self.bytes_read = 0

    @property
    def fell_back(self) -> bool:
        """Whether the server ignored ``Range`` and the whole file was downloaded."""
        return self._local is not None

    # -- ByteSource --------------------------------------------------------------------------

    @property
    def size(self) -> int:
        if self._size is None:
            self.open()
        assert self._size is not None
        return self._size

    def open(self) -> None:
        """Learn the size (and fetch the first block, which every sniff reads) now."""
        if self._size is None:
            self._fetch(0, self._block)
        elif self._size and self._local is None and 0 not in self._cache:
            self.read_at(0, 1)

    def read_at(self, offset: int, length: int) -> bytes:
        size = self.size  # learning the size may itself fall back to a full download
        if self.fell_back:
            return self._fallback_read(offset, length)
        if offset < 0 or length <= 0 or offset >= size:
            return b""
        end = min(offset + length, size)
        # A read that starts where the last one ended is a sequential scan: read ahead, doubling.
        self._ahead = (
            min(max(self._ahead * 2, self._block), MAX_READ_AHEAD)
            if (offset == self._last_end)
            else 0
        )
        self._last_end = end
        first, last = offset // self._block, (end - 1) // self._block
        got: dict[int, bytes] = {}
        missing: list[int] = []
        for index in range(first, last + 1):
            block = self._cache.get(index)
            if block is None:
                missing.append(index)
            else:
                self._cache.move_to_end(index)
                got[index] = block
        for run_start, run_end in _runs(missing):
            if run_end == last + 1 and self._ahead:
                run_end = max(run_end, -(-(end + self._ahead) // self._block))
            fetched = self._fetch(run_start * self._block, run_end * self._block)
            if fetched is None:  # the server ignored Range: everything is local now
                return self._fallback_read(offset, length)
            got.update(fetched)
        data = b"".join(got[i] for i in range(first, last + 1))
        start = offset - first * self._block
        return data[start : start + end - offset]

    def _fallback_read(self, offset: int, length: int) -> bytes:
        assert self._local is not None
        return self._local.read_at(offset, length)

    def view(self) -> memoryview | None:
        return self._local.view() if self._local is not None else None

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
        if self._spool is not None:
            self._spool.close()
        if self._own_session:
            self._session.close()

    def __enter__(self) -> HttpRangeSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transfers ---------------------------------------------------------------------------

    def _fetch(self, start: int, stop: int) -> dict[int, bytes] | None:
        """Blocks covering [start, stop) (clamped to the file), cached; None after a fallback."""
        for attempt in range(RANGE_ATTEMPTS):
            try:
                return self._fetch_once(start, stop)
            except _BrokenRead as exc:
                if attempt + 1 == RANGE_ATTEMPTS or self.requests >= self.max_requests:
                    raise SourceReadError(f"{exc} ({attempt + 1} attempts)") from None
                time.sleep(min(MAX_RETRY_WAIT, exc.wait or RETRY_PAUSE * 2**attempt))
        raise AssertionError("unreachable: the last attempt raises")

    def _fetch_once(self, start: int, stop: int) -> dict[int, bytes] | None:
        if self._size is not None:
            stop = min(stop, self._size)
        response = self._request({"Range": f"bytes={start}-{stop - 1}"})
        with response:
            if response.status_code == 416 and start == 0:
                self._size = 0  # an empty file has no satisfiable range
                return {}
            if response.status_code == 200:
                self._fall_back(response)
                return None
            if response.status_code in RETRY_STATUSES:
                raise _BrokenRead(
                    f"HTTP {response.status_code} from {display_url(response.url)}",
                    wait=_retry_after(response.headers.get("Retry-After")),
                )
            if response.status_code != 206:
                raise SourceReadError(
                    f"HTTP {response.status_code} from {display_url(response.url)}"
                )
            total = _content_range(response.headers.get("Content-Range", ""), start)
            if total is None:
                raise SourceReadError("the server answered a range request without Content-Range")
            if self._size is not None and total != self._size:
                raise SourceReadError(
                    f"the file is {total} bytes, not the {self._size} the listing said"
                )
            self._size = total
            stop = min(stop, total)
            body = self._body(response, stop - start)
        if len(body) != stop - start:
            raise _BrokenRead(f"expected {stop - start} bytes at {start}, got {len(body)}")
        blocks: dict[int, bytes] = {}
        for at in range(0, len(body), self._block):
            index = (start + at) // self._block
            blocks[index] = body[at : at + self._block]
            self._cache[index] = blocks[index]
            self._cache.move_to_end(index)
        while len(self._cache) * self._block > CACHE_BYTES:
            self._cache.popitem(last=False)
        return blocks

    def _request(self, extra: Mapping[str, str]) -> requests.Response:
        if self.requests >= self.max_requests:
            raise LimitExceeded(f"more than {self.max_requests} HTTP requests for one file")
        url = self.url
        for _ in range(MAX_REDIRECTS + 1):
            self.requests += 1
            # Credentials go only to the host they were given for (a CDN gets a signed URL).
            same = _origin(url) == self._origin
            headers = {
                k: v for k, v in self._headers.items() if same or k.lower() not in _AUTH_HEADERS
            }
            headers.update(extra)
            headers["Accept-Encoding"] = "identity"  # ranges count raw bytes
            try:
                response = self._session.get(
                    url, headers=headers, stream=True, allow_redirects=False, timeout=TIMEOUT
                )
            except requests.RequestException as exc:
                raise _BrokenRead(f"cannot reach {display_url(url)}: {_reason(exc)}") from None
            if response.is_redirect and "Location" in response.headers:
                url = urljoin(url, response.headers["Location"])
                response.close()
                continue
            # Later ranges go straight to where the redirects led.
            self.url = url
            return response
        raise SourceReadError(f"more than {MAX_REDIRECTS} redirects from {display_url(self.url)}")

    def _body(self, response: requests.Response, limit: int) -> bytes:
        buf = bytearray()
        try:
            for chunk in response.iter_content(DOWNLOAD_CHUNK):
                buf += chunk
                self.bytes_read += len(chunk)
                if len(buf) > limit:
                    break
        except requests.RequestException as exc:
            raise _BrokenRead(f"transfer broke off: {_reason(exc)}") from None
        return bytes(buf)

    def _fall_back(self, response: requests.Response) -> None:
        """The server sent the whole file: keep it (bounded) in a temporary file and read that."""
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_download_bytes:
            raise LimitExceeded(
                f"the server ignores range requests and the file ({declared} bytes) is over the "
                f"{self.max_download_bytes}-byte download bound"
            )
        spool = tempfile.NamedTemporaryFile(prefix="reviewbot-", suffix=".download")  # noqa: SIM115
        self._spool = spool
        try:
            for chunk in response.iter_content(DOWNLOAD_CHUNK):
                spool.write(chunk)
                self.bytes_read += len(chunk)
                if spool.tell() > self.max_download_bytes:
                    raise LimitExceeded(
                        "the server ignores range requests and the file is over the "
                        f"{self.max_download_bytes}-byte download bound"
                    )
        except requests.RequestException as exc:
            raise SourceReadError(f"download broke off: {_reason(exc)}") from None
        spool.flush()
        self._local = LocalFile(Path(spool.name))
        if self._size is not None and self._local.size != self._size:
            raise SourceReadError(
                f"the file is {self._local.size} bytes, not the {self._size} the listing said"
            )
        self._size = self._local.size
        self._cache.clear()

    def stream(self, offset: int, length: int, chunk: int = DOWNLOAD_CHUNK) -> Iterator[bytes]:
        """``length`` bytes from ``offset`` through one ranged GET, bypassing the block cache:
        tensor data is read once, in order, and must not push headers out of the cache."""
        size = self.size
        end = min(offset + length, size)
        if offset < 0 or offset >= end:
            return
        if self.fell_back:
            yield from read_chunks(self._fallback_read, offset, end, chunk)
            return
        response = self._request({"Range": f"bytes={offset}-{end - 1}"})
        with response:
            if response.status_code != 206:
                raise SourceReadError(
                    f"HTTP {response.status_code} from {display_url(response.url)} for a range"
                )
            got = 0
            try:
                for data in response.iter_content(chunk):
                    data = data[: end - offset - got]
                    got += len(data)
                    self.bytes_read += len(data)
                    yield data
                    if got >= end - offset:
                        break
            except requests.RequestException as exc:
                raise SourceReadError(f"transfer broke off: {_reason(exc)}") from None
        if got != end - offset:
            raise SourceReadError(f"expected {end - offset} bytes at {offset}, got {got}")

    def download_to(self, write: Callable[[bytes], object]) -> None:
        """The whole file, in order (for hashing): from the fallback copy, or one GET."""
        if self._local is not None:
            offset = 0
            while chunk := self._local.read_at(offset, DOWNLOAD_CHUNK):
                write(chunk)
                offset += len(chunk)
            return
        with self._request({}) as response:
            if response.status_code != 200:
                raise SourceReadError(
                    f"HTTP {response.status_code} from {display_url(response.url)}"
                )
            try:
                for chunk in response.iter_content(DOWNLOAD_CHUNK):
                    write(chunk)
                    self.bytes_read += len(chunk)
            except requests.RequestException as exc:
                raise SourceReadError(f"download broke off: {_reason(exc)}") from None


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    """Consecutive block indices as [start, stop) runs: one request each."""
    runs: list[tuple[int, int]] = []
    for index in indices:
        if runs and runs[-1][1] == index:
            runs[-1] = (runs[-1][0], index + 1)
        else:
            runs.append((index, index + 1))
    return runs


def _content_range(value: str, start: int) -> int | None:
    """The total size from ``bytes START-END/TOTAL``; None when it is missing or does not fit."""
    unit, _, spec = value.strip().partition(" ")
    span, _, total = spec.partition("/")
    first = span.partition("-")[0]
    if unit.lower() != "bytes" or not total.isdigit() or first != str(start):
        return None
    return int(total)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def display_url(url: str) -> str:
    """A URL fit to print: no user-info, no query string (signed CDN URLs carry secrets there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def _reason(exc: Any) -> str:
    # requests nests the socket error several levels deep; the errno text says what happened.
    text = str(exc)
    found = re.search(r"\[Errno -?\d+\] [^'\")]+", text)
    if found:
        return found.group(0)
    if isinstance(exc, requests.Timeout):
        return "timed out"
    return type(exc).__name__
