"""numpy .npy headers and object arrays. STUB (containers helper)."""

from __future__ import annotations

from checks.weights.context import ScanContext
from checks.weights.source import ByteSource


def scan_npy(source: ByteSource, ctx: ScanContext) -> None:
    raise NotImplementedError
