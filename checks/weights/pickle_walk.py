"""Symbolic pickle walker. STUB — being written (pickle helper)."""

from __future__ import annotations

from checks.weights.context import ScanContext
from checks.weights.source import ByteSource


def scan_pickle_source(source: ByteSource, ctx: ScanContext) -> None:
    raise NotImplementedError


def scan_pickle_bytes(
    data: bytes | memoryview, ctx: ScanContext, *, start: int = 0, max_streams: int | None = None
) -> int:
    raise NotImplementedError
