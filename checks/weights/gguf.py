"""GGUF header and metadata. STUB (headers helper)."""

from __future__ import annotations

from checks.weights.context import ScanContext
from checks.weights.source import ByteSource


def scan_gguf(source: ByteSource, ctx: ScanContext) -> None:
    raise NotImplementedError
