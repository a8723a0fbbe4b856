"""Tar archives and the legacy (pre-1.6) torch.save format that is a tar or a pickle stream."""

from __future__ import annotations

import pickletools
import struct
import tarfile
from dataclasses import dataclass
from typing import Any

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource, SliceSource, SourceFile
from checks.weights.containers.common import (
    check_member_path,
    report_malformed,
    scan_nested,
    scan_pickle,
    scan_pickle_bytes,
    shared_budget,
)
from checks.weights.context import ScanContext
from checks.weights.sniff import HEAD_BYTES

# ---------------------------------------------------------------- tar


TAR_ERRORS = (tarfile.TarError, EOFError, OSError, ValueError, UnicodeError, struct.error)
LEGACY_TORCH_MEMBERS = frozenset({"pickle", "storages"})


def scan_tar(source: ByteSource, ctx: ScanContext) -> None:
    """Torch's legacy tar checkpoints and plain tars: every member, bounded."""
    with shared_budget(ctx):
        try:
            members = _tar_members(source, ctx)
        except TAR_ERRORS as exc:
            report_malformed(ctx, f"tar structure is broken ({type(exc).__name__}: {exc})")
            return
        legacy = {m.name for m in members} >= LEGACY_TORCH_MEMBERS
        for member in members:
            _tar_member(source, member, legacy, ctx)


def _tar_members(source: ByteSource, ctx: ScanContext) -> list[tarfile.TarInfo]:
    members: list[tarfile.TarInfo] = []
    with tarfile.open(fileobj=SourceFile(source), mode="r:") as archive:
        for member in archive:
            if len(members) >= ctx.limits.max_entries:
                raise LimitExceeded(f"more than {ctx.limits.max_entries} archive members")
            members.append(member)
    return members


def _tar_member(
    source: ByteSource, member: tarfile.TarInfo, legacy: bool, ctx: ScanContext
) -> None:
    mctx = ctx.nested(member.name)
    check_member_path(member.name, mctx)
    if member.issym() or member.islnk():
        mctx.report(
            "archive-link",
            Severity.MEDIUM,
            f"tar member is a link to {member.linkname!r}; unpacking it can reach files "
            "outside the archive",
        )
        return
    if not member.isfile():
        return
    if member.issparse():
        report_malformed(mctx, "sparse tar member (its data layout is not read)")
        return
    data = SliceSource(source, member.offset_data, member.size)
    if data.size < member.size:
        report_malformed(mctx, "tar member runs past the end of the file")
    if legacy and member.name in ("pickle", "sys_info"):
        scan_pickle(data, mctx)
    elif legacy and member.name in ("storages", "tensors"):
        _guarded_legacy(data, member.name, mctx)
    else:
        scan_nested(data, mctx)


# Element sizes of torch's legacy typed storages, by class name.
STORAGE_ELEMENT_SIZES = {
    "DoubleStorage": 8,
    "FloatStorage": 4,
    "HalfStorage": 2,
    "BFloat16Storage": 2,
    "LongStorage": 8,
    "IntStorage": 4,
    "ShortStorage": 2,
    "CharStorage": 1,
    "ByteStorage": 1,
    "BoolStorage": 1,
    "ComplexDoubleStorage": 16,
    "ComplexFloatStorage": 8,
    "QUInt8Storage": 1,
    "QInt8Storage": 1,
    "QInt32Storage": 4,
    "QUInt4x2Storage": 1,
    "QUInt2x4Storage": 1,
}
_INT_OPS = frozenset({"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"})


class _Undelimited(Exception):
    """A legacy record whose extent cannot be known without running its pickle."""


@dataclass
class _Record:
    ops: list[tuple[str, Any]]
    end: int


def _guarded_legacy(data: ByteSource, which: str, ctx: ScanContext) -> None:
    try:
        if which == "storages":
            _legacy_storages(data, ctx)
        else:
            _legacy_tensors(data, ctx)
    except _Undelimited as exc:
        report_malformed(
            ctx, f"cannot delimit the legacy {which} records ({exc}); the rest is unread"
        )


def _legacy_pickle(data: ByteSource, pos: int, ctx: ScanContext) -> _Record:
    """Find where the pickle at ``pos`` ends (parsing only), scan it, return its opcodes."""
    window = HEAD_BYTES * 16
    limit = min(data.size - pos, ctx.limits.max_member_bytes)
    while True:
        chunk = data.read_at(pos, min(window, limit))
        try:
            ops = [(op.name, arg, at) for op, arg, at in pickletools.genops(chunk)]
            break
        except ValueError as exc:
            if len(chunk) >= limit:
                raise _Undelimited(f"no complete pickle at offset {pos}: {exc}") from None
            window *= 4
    stop = (ops[-1][2] or 0) + 1
    scan_pickle_bytes(chunk[:stop], ctx)
    return _Record([(name, arg) for name, arg, _ in ops], pos + stop)


def _record_count(record: _Record, ctx: ScanContext) -> int:
    ints = [arg for name, arg in record.ops if name in _INT_OPS]
    if len(ints) != 1 or not isinstance(ints[0], int) or ints[0] < 0:
        raise _Undelimited("the record count is not a plain integer")
    if ints[0] > ctx.limits.max_entries:
        raise LimitExceeded(f"more than {ctx.limits.max_entries} legacy records")
    return ints[0]


def _storage_element_size(record: _Record) -> int:
    names = [arg for name, arg in record.ops if name == "GLOBAL"]
    strings = [arg for name, arg in record.ops if isinstance(arg, str) and name != "GLOBAL"]
    if not names and any(name == "STACK_GLOBAL" for name, _ in record.ops) and len(strings) >= 2:
        names = [" ".join(strings[-2:])]
    for full in names:
        module, _, cls = str(full).partition(" ")
        if module in ("torch", "torch.cuda") and cls in STORAGE_ELEMENT_SIZES:
            return STORAGE_ELEMENT_SIZES[cls]
    raise _Undelimited("a storage record names no known storage type")


def _legacy_storages(data: ByteSource, ctx: ScanContext) -> None:
    record = _legacy_pickle(data, 0, ctx)
    pos = record.end
    for _ in range(_record_count(record, ctx)):
        record = _legacy_pickle(data, pos, ctx)
        element = _storage_element_size(record)
        raw = data.read_at(record.end, 8)
        if len(raw) < 8:
            raise _Undelimited("a storage's length is cut off")
        (numel,) = struct.unpack("<q", raw)
        pos = record.end + 8 + numel * element
        if numel < 0 or pos > data.size:
            raise _Undelimited("a storage runs past the end of the member")
    pos = _legacy_pickle(data, pos, ctx).end  # the storage views
    _legacy_trailing(data, pos, ctx)


def _legacy_tensors(data: ByteSource, ctx: ScanContext) -> None:
    record = _legacy_pickle(data, 0, ctx)
    pos = record.end
    for _ in range(_record_count(record, ctx)):
        record = _legacy_pickle(data, pos, ctx)
        raw = data.read_at(record.end, 4)
        (ndim,) = struct.unpack("<i", raw) if len(raw) == 4 else (-1,)
        if not 0 <= ndim <= 64:
            raise _Undelimited("a tensor record has an impossible rank")
        pos = record.end + 8 + 16 * ndim + 8
        if pos > data.size:
            raise _Undelimited("a tensor record runs past the end of the member")
    _legacy_trailing(data, pos, ctx)


def _legacy_trailing(data: ByteSource, pos: int, ctx: ScanContext) -> None:
    if pos >= data.size:
        return
    ctx.report(
        "trailing-data",
        Severity.MEDIUM,
        f"{data.size - pos} bytes follow the last legacy record; torch ignores them",
    )
    scan_nested(SliceSource(data, pos, data.size - pos), ctx.nested("trailing data"))
