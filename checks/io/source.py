"""Byte sources: every scanner reads through one, so a local file and a remote one look alike."""

from __future__ import annotations

import bisect
import contextlib
import io
import mmap
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol


class SourceReadError(OSError):
    """The bytes cannot be had (a remote file that is gone, a transfer that broke off)."""


def note_read(source: ByteSource, n: int) -> None:
    """Count ``n`` bytes a parser walked through ``view()`` (read_at counts its own)."""
    note = getattr(source, "note_read", None)
    if note is not None:
        note(n)


def iter_chunks(
    source: ByteSource, offset: int, length: int, chunk: int = 8 << 20
) -> Iterator[bytes]:
    """``length`` bytes from ``offset`` in order, ``chunk`` at a time, never all at once.

    A source with its own ``stream`` (HTTP: one ranged GET, not cached) uses it; any other is
    read chunk by chunk. Ends early only at the end of the source.
    """
    stream = getattr(source, "stream", None)
    if stream is not None:
        yield from stream(offset, length, chunk)
        return
    yield from read_chunks(source.read_at, offset, min(offset + length, source.size), chunk)


def read_chunks(
    read_at: Callable[[int, int], bytes], offset: int, end: int, chunk: int
) -> Iterator[bytes]:
    """Bytes ``offset`` to ``end`` through ``read_at``, ``chunk`` at a time; stops short at EOF."""
    while offset < end:
        data = read_at(offset, min(chunk, end - offset))
        if not data:
            return
        offset += len(data)
        yield data


class ByteSource(Protocol):
    """Random access to a file's bytes. ``read_at`` returns fewer bytes only at the end."""

    @property
    def size(self) -> int: ...

    def read_at(self, offset: int, length: int) -> bytes: ...

    def view(self) -> memoryview | None:
        """The whole content without copying, when that is cheap (a memory map); else None."""
        ...


class OpenedSource(ByteSource, Protocol):
    """A source that holds a file or connection open until closed (``with`` closes it)."""

    @property
    def bytes_read(self) -> int: ...

    def close(self) -> None: ...

    def __enter__(self) -> OpenedSource: ...

    def __exit__(self, *exc: object) -> None: ...


class LocalFile:
    """A local file behind a read-only memory map: only the pages a parser touches are read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY)
        self._size = os.fstat(self._fd).st_size
        self._map: mmap.mmap | None = None
        if self._size:
            self._map = mmap.mmap(self._fd, 0, access=mmap.ACCESS_READ)
        self._spans = _Spans()

    @property
    def bytes_read(self) -> int:
        """Distinct bytes the parsers read: a header read twice counts once, as a download would."""
        return self._spans.total

    @property
    def size(self) -> int:
        return self._size

    def read_at(self, offset: int, length: int) -> bytes:
        if self._map is None or offset >= self._size or length <= 0 or offset < 0:
            return b""
        data = self._map[offset : offset + length]
        self._spans.add(offset, offset + len(data))
        return data

    def view(self) -> memoryview | None:
        return memoryview(self._map) if self._map is not None else memoryview(b"")

    def note_read(self, n: int) -> None:
        self._spans.add(0, min(n, self._size))

    def close(self) -> None:
        if self._map is not None:
            # A view may still be alive; the map then closes when the view goes.
            with contextlib.suppress(BufferError):
                self._map.close()
        os.close(self._fd)

    def __enter__(self) -> LocalFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BytesSource:
    """An in-memory source: archive members and tests."""

    def __init__(self, data: bytes | memoryview) -> None:
        self._data = memoryview(data)
        self.bytes_read = 0

    @property
    def size(self) -> int:
        return len(self._data)

    def read_at(self, offset: int, length: int) -> bytes:
        if offset < 0 or length <= 0:
            return b""
        data = bytes(self._data[offset : offset + length])
        self.bytes_read += len(data)
        return data

    def view(self) -> memoryview | None:
        return self._data

    def note_read(self, n: int) -> None:
        self.bytes_read += n


class _Spans:
    """A union of byte ranges, kept merged (parsers mostly read in order, so it stays short)."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        self.total = 0

    def add(self, start: int, end: int) -> None:
        if end <= start:
            return
        # The first span that ends at or after ``start`` and the first that starts after ``end``.
        lo = bisect.bisect_left(self._ends, start)
        hi = bisect.bisect_right(self._starts, end)
        if lo < hi:
            start = min(start, self._starts[lo])
            end = max(end, self._ends[hi - 1])
            self.total -= sum(self._ends[lo:hi]) - sum(self._starts[lo:hi])
        self._starts[lo:hi] = [start]
        self._ends[lo:hi] = [end]
        self.total += end - start


class SourceFile(io.RawIOBase):
    """A read-only, seekable file object over a ByteSource, for libraries that want one
    (tarfile, h5py's file-object driver): they read through the source, ranges and all."""

    def __init__(self, source: ByteSource) -> None:
        super().__init__()
        self._source = source
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._source.size}[whence]
        self._pos = max(base + offset, 0)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._source.read_at(self._pos, len(view))
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)


class SliceSource:
    """A window onto another source: a stored member, read without copying."""

    def __init__(self, parent: ByteSource, offset: int, length: int) -> None:
        self._parent = parent
        self._offset = offset
        self._size = max(0, min(length, parent.size - offset))

    @property
    def size(self) -> int:
        return self._size

    def read_at(self, offset: int, length: int) -> bytes:
        if offset < 0 or length <= 0 or offset >= self._size:
            return b""
        return self._parent.read_at(self._offset + offset, min(length, self._size - offset))

    def view(self) -> memoryview | None:
        whole = self._parent.view()
        return None if whole is None else whole[self._offset : self._offset + self._size]

    def note_read(self, n: int) -> None:
        note_read(self._parent, n)
