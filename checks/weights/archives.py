"""Archives: zip (PyTorch, Keras, npz), tar, 7z, compressed streams. STUB (containers helper)."""

from __future__ import annotations

from checks.weights.context import ScanContext
from checks.weights.source import ByteSource


def scan_zip(source: ByteSource, ctx: ScanContext) -> str:
    raise NotImplementedError


def scan_tar(source: ByteSource, ctx: ScanContext) -> None:
    raise NotImplementedError


def scan_7z(source: ByteSource, ctx: ScanContext) -> None:
    raise NotImplementedError


def scan_compressed(source: ByteSource, ctx: ScanContext, fmt: str) -> None:
    raise NotImplementedError
