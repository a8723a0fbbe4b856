"""safetensors header validation. STUB (headers helper)."""

from __future__ import annotations

from checks.weights.context import ScanContext
from checks.weights.source import ByteSource


def scan_safetensors(source: ByteSource, ctx: ScanContext) -> None:
    raise NotImplementedError
