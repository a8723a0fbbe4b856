"""torch.distributed.checkpoint folders: the .metadata pickle and the .distcp shards it indexes.

A .distcp shard is what torch's FileSystemWriter appends item after item: each tensor or object
saved with torch.save (a whole zip of its own, loaded again with torch.load), or raw tensor
bytes. Every embedded zip is carved out by its end record and scanned as a file of its own; the
bytes between them are sniffed and scanned as what they are.
"""

from __future__ import annotations

import dataclasses
import struct
from typing import Any

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource, SliceSource, note_read
from checks.weights.context import ScanContext
from checks.weights.imports import Verdict

METADATA_NAME = ".metadata"
SHARD_SUFFIX = ".distcp"
# The classes torch.distributed.checkpoint.load unpickles from .metadata (weights_only=False).
DCP_MODULES = frozenset({"torch.distributed.checkpoint.metadata"})
DCP_NAMES = frozenset({"torch.distributed.checkpoint.filesystem._StorageInfo"})
_DCP_REASON = (
    "a torch.distributed.checkpoint metadata class: torch.distributed.checkpoint.load "
    "unpickles it without weights_only"
)
_WINDOW = 16 << 20
_EOCD_SIG = b"PK\x05\x06"
_EOCD_SIZE = 22


class DcpMetadataPolicy:
    """Grades the .metadata pickle: DCP's own metadata classes warn, never fail; everything
    else (and any dangerous or dotted name) as in other pickles."""

    def __init__(self, base: Any) -> None:
        self.base = base

    def classify(self, module: str, name: str) -> Verdict:
        verdict: Verdict = self.base.classify(module, name)
        full = f"{module}.{name}"
        ours = full in DCP_NAMES or (module in DCP_MODULES and "." not in name)
        if (
            ours
            and verdict.severity in (Severity.HIGH, Severity.MEDIUM)
            and verdict.category
            in (
                "unknown",
                "metadata",
            )
        ):
            return Verdict(Severity.MEDIUM, "metadata", _DCP_REASON, verdict.name or full)
        return verdict


def scan_metadata(source: ByteSource, ctx: ScanContext) -> None:
    from checks.weights import pickle_walk

    policy = DcpMetadataPolicy(ctx.policy)
    pickle_walk.scan_pickle_source(source, dataclasses.replace(ctx, policy=policy))


def scan_distcp(source: ByteSource, ctx: ScanContext) -> None:
    """Every item of a shard: embedded torch.save zips and the bytes between them."""
    from checks.weights import zipread
    from checks.weights.containers.common import scan_nested

    done = 0  # everything before this offset has been scanned
    for eocd in _end_records(source, ctx.limits.max_entries):
        record = source.read_at(eocd, _EOCD_SIZE)
        if len(record) < _EOCD_SIZE:
            continue  # the signature's bytes run to the end of the file: no record
        end = eocd + _EOCD_SIZE + struct.unpack_from("<H", record, 20)[0]
        if end > source.size:
            continue
        window = SliceSource(source, done, end - done)
        try:
            directory = zipread.read_directory(
                window,
                max_entries=ctx.limits.max_entries,
                max_directory_bytes=ctx.limits.max_header_bytes,
            )
        except zipread.ZipFormatError:
            continue  # four bytes of tensor data that happen to spell an end record
        start = done + directory.shift
        if start < done:
            continue
        if start > done:
            _gap(source, done, start, ctx)
        item = f"item at byte {start}"
        scan_nested(SliceSource(source, start, end - start), ctx.nested(item))
        done = end
    if done < source.size:
        _gap(source, done, source.size, ctx)


def _gap(source: ByteSource, start: int, end: int, ctx: ScanContext) -> None:
    from checks.weights.containers.common import scan_nested

    scan_nested(SliceSource(source, start, end - start), ctx.nested(f"bytes {start}..{end}"))


def _end_records(source: ByteSource, most: int) -> list[int]:
    """Offsets of every zip end-of-central-directory signature, in order (reads the file)."""
    found: list[int] = []
    pos = 0
    overlap = len(_EOCD_SIG) - 1
    while pos < source.size:
        chunk = source.read_at(pos, _WINDOW)
        if not chunk:
            break
        at = chunk.find(_EOCD_SIG)
        while at >= 0:
            found.append(pos + at)
            if len(found) > most:
                raise LimitExceeded(f"more than {most} zip end records in one shard")
            at = chunk.find(_EOCD_SIG, at + 1)
        if pos + len(chunk) >= source.size:
            break
        pos += len(chunk) - overlap
    note_read(source, source.size)
    return found
