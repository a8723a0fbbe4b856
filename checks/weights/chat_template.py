"""Chat templates that reach Python internals. STUB (headers helper)."""

from __future__ import annotations

from checks.weights.context import ScanContext
from checks.weights.source import ByteSource


def scan_tokenizer_config(source: ByteSource, ctx: ScanContext) -> None:
    raise NotImplementedError


def check_template(template: str, ctx: ScanContext, where: str) -> None:
    raise NotImplementedError
