"""Keras model configs. STUB (headers helper)."""

from __future__ import annotations

from checks.weights.context import ScanContext
from checks.weights.source import ByteSource


def scan_hdf5(source: ByteSource, ctx: ScanContext) -> None:
    raise NotImplementedError


def scan_keras_config(data: bytes, ctx: ScanContext) -> None:
    raise NotImplementedError
