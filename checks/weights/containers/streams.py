"""7z archives and single compressed streams (gzip, bz2, xz, zlib, lzma), decoded within budget."""

from __future__ import annotations

import bz2
import lzma
from collections.abc import Iterator
from pathlib import PurePosixPath

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource, BytesSource, SliceSource
from checks.weights import zipread
from checks.weights.containers.common import (
    COMPRESSION_SUFFIXES,
    report_limit,
    report_malformed,
    scan_nested,
    shared_budget,
)
from checks.weights.context import DecompressionBudget, ScanContext
from checks.weights.sniff import HEAD_BYTES

# ---------------------------------------------------------------- 7z, compressed streams


def scan_7z(source: ByteSource, ctx: ScanContext) -> None:
    ctx.report(
        "unsupported-archive",
        Severity.HIGH,
        "7z archive: contents cannot be inspected; publish the files unpacked",
    )


_MAGIC = {
    "gzip": b"\x1f\x8b",
    "bzip2": b"BZh",
    "xz": b"\xfd7zXZ\x00",
    "zlib": b"\x78",
    "lzma": b"\x5d\x00",
    "joblib-zfile": b"ZF0x",
}
_SINGLE_STREAM = frozenset({"zlib", "lzma", "joblib-zfile"})  # their readers stop after one
# joblib < 0.10 wrote "ZF", the data's length in hex padded to 19 characters, then one zlib
# stream (a Python 2 writer padded one character more).
_ZFILE_HEADER = 2 + len(hex(2**64))


def _stream_decoder(fmt: str) -> zipread.Decoder:
    if fmt == "gzip":
        return zipread.Inflater(31)
    if fmt in ("zlib", "joblib-zfile"):
        return zipread.Inflater(15)
    if fmt == "lzma":
        return lzma.LZMADecompressor(format=lzma.FORMAT_ALONE)
    if fmt == "bzip2":
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)


def scan_compressed(source: ByteSource, ctx: ScanContext, fmt: str) -> None:
    """Decompress (bounded) and scan what comes out as a file of its own."""
    if fmt not in _MAGIC:
        ctx.report(
            "unsupported-archive",
            Severity.HIGH,
            f"{fmt} stream: contents cannot be inspected; publish the file uncompressed",
        )
        return
    with shared_budget(ctx) as budget:
        try:
            data, end = _decompress_all(source, fmt, ctx, budget)
        except LimitExceeded as exc:
            report_limit(ctx, str(exc))
            return
        name = _decompressed_name(ctx)
        scan_nested(BytesSource(data), ctx.nested(name))
        if end < source.size and source.read_at(end, HEAD_BYTES).strip(b"\x00"):
            ctx.report(
                "trailing-data",
                Severity.MEDIUM,
                f"{source.size - end} bytes follow the {fmt} stream",
            )
            tail = SliceSource(source, end, source.size - end)
            scan_nested(tail, ctx.nested(f"{name} (trailing data)"))


def _decompress_all(
    source: ByteSource, fmt: str, ctx: ScanContext, budget: DecompressionBudget
) -> tuple[bytes, int]:
    """Every concatenated stream, as gzip/bz2/lzma readers do; returns data and where it ended."""
    out = bytearray()
    pos = 0
    while pos < source.size and source.read_at(pos, len(_MAGIC[fmt])) == _MAGIC[fmt]:
        if fmt == "joblib-zfile":
            pos = _zfile_data_start(source, ctx)
        decoder = _stream_decoder(fmt)
        chunks = zipread.iter_decoded(
            _chunks_from(source, pos),
            decoder,
            max_bytes=ctx.limits.max_member_bytes - len(out),
            max_ratio=ctx.limits.max_compression_ratio,
            charge=budget.charge,
        )
        try:
            fed = yield_into(chunks, out)
        except zipread.MemberDataError as exc:
            report_malformed(ctx, f"{fmt} stream cannot be decoded ({exc}); scanned what decoded")
            return bytes(out), source.size
        pos += fed - len(decoder.unused_data)
        if fmt in _SINGLE_STREAM:
            break
    return bytes(out), pos


def _zfile_data_start(source: ByteSource, ctx: ScanContext) -> int:
    """Where a joblib "ZF" file's zlib stream starts; a header that is no length is reported."""
    header = source.read_at(0, _ZFILE_HEADER + 1)
    try:
        int(header[2:_ZFILE_HEADER], 16)
    except ValueError:
        report_malformed(ctx, "joblib ZF header holds no hexadecimal length")
    return _ZFILE_HEADER + 1 if header[_ZFILE_HEADER:] == b" " else _ZFILE_HEADER


def yield_into(chunks: Iterator[bytes], out: bytearray) -> int:
    """Append a decode generator's chunks to ``out``; return the generator's result."""
    while True:
        try:
            out += next(chunks)
        except StopIteration as done:
            return int(done.value or 0)


def _chunks_from(source: ByteSource, pos: int) -> Iterator[bytes]:
    while chunk := source.read_at(pos, zipread.IN_CHUNK):
        pos += len(chunk)
        yield chunk


def _decompressed_name(ctx: ScanContext) -> str:
    name = PurePosixPath(ctx.trail[-1] if ctx.trail else ctx.path).name
    path = PurePosixPath(name)
    if path.suffix.lower() in COMPRESSION_SUFFIXES:
        return path.stem
    if path.suffix.lower() == ".tgz":
        return f"{path.stem}.tar"
    return name
