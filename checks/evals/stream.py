"""Streams tensors' stored values in file order, a bounded chunk at a time, local or remote."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from checks.evals.safetensors_reader import SafetensorsFile, TensorInfo, element_ranges, storage
from checks.io.source import ByteSource, SourceReadError, iter_chunks

# Raw bytes per read. A piece handed out may still hold the previous chunk, so at most twice
# this is in memory: 8 MiB, whatever the tensor or file size.
STREAM_CHUNK = 4 << 20

# (index of the first element, the stored values from there), CHUNK_ELEMENTS at a time.
Values = Iterator[tuple[int, npt.NDArray[Any]]]


def span(tensors: Iterable[TensorInfo]) -> int:
    """Bytes one in-order read of these tensors takes: from the first start to the last end."""
    live = [t for t in tensors if t.nbytes]
    return max(t.end for t in live) - min(t.start for t in live) if live else 0


def tensor_values(
    f: SafetensorsFile, tensors: Sequence[TensorInfo]
) -> Iterator[tuple[TensorInfo, Values]]:
    """Each tensor with its values, in file order; take a tensor's values before asking for the
    next tensor (what is not taken is skipped over).

    A local file is read through its memory map, without copies; any other source through one
    sequential read (one ranged GET) over the span of the tensors, started again only where
    tensors overlap.
    """
    order = sorted(tensors, key=lambda t: (t.start, t.end))
    live = [t for t in order if t.nbytes]
    if not live:
        for info in order:
            yield info, iter(())
        return
    view = f.source.view()
    cursor: _Cursor = (
        _ViewCursor(view) if view is not None else _StreamCursor(f.source, live[0].start, live)
    )
    try:
        for info in order:
            values = _values(f, cursor, info)
            yield info, values
            for _ in values:  # the consumer stopped early: skip the rest in order
                pass
    finally:
        cursor.close()


def _values(f: SafetensorsFile, cursor: _Cursor, info: TensorInfo) -> Values:
    if not info.nbytes:
        return
    dtype = storage(info.dtype)
    cursor.seek(info.start)
    for i, j in element_ranges(info):
        data = cursor.take((j - i) * dtype.itemsize)
        f.streamed += len(data)
        yield i, np.frombuffer(data, dtype=dtype)


class _Cursor:
    def seek(self, offset: int) -> None:
        raise NotImplementedError

    def take(self, n: int) -> memoryview:
        raise NotImplementedError

    def close(self) -> None:
        return


class _ViewCursor(_Cursor):
    """Slices of a memory map: nothing is copied, the kernel reads pages as they are touched."""

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._pos = 0

    def seek(self, offset: int) -> None:
        self._pos = offset

    def take(self, n: int) -> memoryview:
        data = self._view[self._pos : self._pos + n]
        if len(data) != n:
            raise SourceReadError(f"the file ends before byte {self._pos + n}")
        self._pos += n
        return data


class _StreamCursor(_Cursor):
    """One sequential read from ``start`` to the tensors' end, handed out in exact pieces."""

    def __init__(self, source: ByteSource, start: int, tensors: Sequence[TensorInfo]) -> None:
        self._source = source
        self._end = max(t.end for t in tensors)
        self._chunks: Iterator[bytes] = iter(())
        self._restart(start)

    def _restart(self, offset: int) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()  # ends the transfer under way
        self._chunks = iter_chunks(self._source, offset, self._end - offset, STREAM_CHUNK)
        self._buf = memoryview(b"")
        self._pos = offset

    def seek(self, offset: int) -> None:
        if offset < self._pos:  # overlapping tensors (the weight scan fails such a file)
            self._restart(offset)
        while self._pos < offset:
            if not self._buf:
                self._buf = self._next()
            step = min(len(self._buf), offset - self._pos)
            self._buf = self._buf[step:]
            self._pos += step

    def take(self, n: int) -> memoryview:
        if len(self._buf) >= n:  # the common case: a whole piece inside one chunk, no copy
            data, self._buf = self._buf[:n], self._buf[n:]
            self._pos += n
            return data
        joined = bytearray(self._buf)
        while len(joined) < n:
            chunk = self._next()
            need = n - len(joined)
            joined += chunk[:need]
            self._buf = chunk[need:]
        self._pos += n
        return memoryview(joined)

    def _next(self) -> memoryview:
        chunk = next(self._chunks, b"")
        if not chunk:
            raise SourceReadError(f"the file ended near byte {self._pos} while streaming")
        return memoryview(chunk)

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
