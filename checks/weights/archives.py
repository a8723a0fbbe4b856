"""Archives: zip (PyTorch, Keras, npz), tar, 7z and compressed streams, scanned member by member."""

from __future__ import annotations

import bz2
import lzma
import pickletools
import re
import struct
import tarfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource, BytesSource, SliceSource, SourceFile
from checks.weights import zipread
from checks.weights.context import DecompressionBudget, ScanContext, not_scanned
from checks.weights.sniff import CODE_CAPABLE, HEAD_BYTES, sniff_bytes

SMALL_MEMBER = 1 << 20  # members this small are read whole (and CRC-checked) whatever they hold
PLAIN_FORMATS = frozenset({"text", "unknown", "png", "empty"})
TORCH_KINDS = frozenset({"pytorch-zip", "torchscript"})
COMPRESSION_SUFFIXES = frozenset([".gz", ".gzip", ".bz2", ".xz", ".lzma", ".z", ".zlib", ".lz4"])


# ---------------------------------------------------------------- shared helpers


@contextmanager
def _budget(ctx: ScanContext) -> Iterator[DecompressionBudget]:
    assert ctx.budget is not None  # ScanContext always makes one
    yield ctx.budget


def _scan_nested(source: ByteSource, ctx: ScanContext) -> str:
    """Scan a member with the dispatcher the scanner put in the context (this module never
    imports the scanner); without one, fail closed rather than skip the member."""
    if ctx.scan_nested is not None:
        return ctx.scan_nested(source, ctx)
    return not_scanned(ctx)


def _guarded(ctx: ScanContext, parser: str, call: Callable[[], object]) -> None:
    """Run another module's parser the way the dispatcher would: fail closed on surprises."""
    try:
        call()
    except LimitExceeded as exc:
        _limit(ctx, str(exc))
    except Exception as exc:  # a parser surprise must never read as a pass
        ctx.report(
            "scanner-error",
            Severity.HIGH,
            f"the {parser} parser could not finish ({type(exc).__name__}: {exc}); "
            "the file cannot be shown safe",
        )


def _scan_pickle(source: ByteSource, ctx: ScanContext) -> None:
    from checks.weights import pickle_walk

    _guarded(ctx, "pickle", lambda: pickle_walk.scan_pickle_source(source, ctx))


def _scan_pickle_bytes(data: bytes, ctx: ScanContext) -> None:
    from checks.weights import pickle_walk

    _guarded(ctx, "pickle", lambda: pickle_walk.scan_pickle_bytes(data, ctx, max_streams=1))


def _limit(ctx: ScanContext, what: str) -> None:
    ctx.report("limit-exceeded", Severity.HIGH, f"scan stopped at a safety bound: {what}")


def _malformed(ctx: ScanContext, what: str) -> None:
    ctx.report(
        "malformed-archive",
        Severity.HIGH,
        f"{what}; the archive cannot be shown safe",
    )


def _check_member_path(name: str, ctx: ScanContext) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
        ctx.report(
            "archive-path-traversal",
            Severity.MEDIUM,
            "member path escapes the extraction folder; tools that unpack it write elsewhere",
        )


# ---------------------------------------------------------------- zip


@dataclass(frozen=True)
class ZipLayout:
    """What a zip is for, from its member names: pytorch-zip torchscript keras npz zip."""

    kind: str
    folder: str = ""


def classify_zip(names: list[str]) -> ZipLayout:
    if not names:
        return ZipLayout("zip")
    # torch takes the archive folder from the first member's name, whatever it is.
    folder = names[0].split("/", 1)[0] if "/" in names[0] else ""
    present = set(names)
    if folder:
        code = any(n.startswith(f"{folder}/code/") for n in names)
        if f"{folder}/constants.pkl" in present or code:
            return ZipLayout("torchscript", folder)
        if f"{folder}/data.pkl" in present:
            return ZipLayout("pytorch-zip", folder)
    if {"config.json", "metadata.json"} <= present:
        return ZipLayout("keras")
    files = [n for n in names if not n.endswith("/")]
    if files and all(n.endswith(".npy") for n in files):
        return ZipLayout("npz")
    return ZipLayout("zip")


def scan_zip(source: ByteSource, ctx: ScanContext) -> str:
    """Scan every member that can run code on load; return the refined format."""
    try:
        directory = zipread.read_directory(
            source,
            max_entries=ctx.limits.max_entries,
            max_directory_bytes=ctx.limits.max_header_bytes,
        )
    except zipread.ZipFormatError as exc:
        _malformed(ctx, f"zip structure is broken ({exc})")
        return "zip"
    except LimitExceeded as exc:
        _limit(ctx, str(exc))
        return "zip"
    for note in directory.anomalies:
        ctx.report("zip-inconsistent", Severity.MEDIUM, f"zip readers may disagree: {note}")
    _report_duplicates(directory.entries, ctx)
    layout = classify_zip([e.name for e in directory.entries])
    if layout.kind == "torchscript":
        ctx.report(
            "torchscript",
            Severity.MEDIUM,
            "TorchScript archive: torch.jit.load runs the TorchScript code it holds",
        )
    with _budget(ctx) as budget:
        _ZipScan(source, ctx, directory, budget, layout).run()
    return layout.kind


def _report_duplicates(entries: list[zipread.ZipEntry], ctx: ScanContext) -> None:
    seen: set[str] = set()
    for entry in entries:
        if entry.name in seen:
            ctx.report(
                "zip-inconsistent",
                Severity.MEDIUM,
                f"member name {entry.name!r} appears more than once; readers pick different copies",
            )
        seen.add(entry.name)


class _ZipScan:
    """One zip's member-by-member scan."""

    def __init__(
        self,
        source: ByteSource,
        ctx: ScanContext,
        directory: zipread.ZipDirectory,
        budget: DecompressionBudget,
        layout: ZipLayout,
    ) -> None:
        self.source = source
        self.ctx = ctx
        self.directory = directory
        self.budget = budget
        self.layout = layout
        self.skipped = 0

    def run(self) -> None:
        for entry in self.directory.entries:
            if self.budget.spent:
                _limit(self.ctx, "the decompression budget is spent; later members not inspected")
                return
            if entry.is_dir or self._is_storage(entry.name):
                continue
            role = self._role(entry.name)
            try:
                self._member(entry, role)
            except LimitExceeded as exc:
                _limit(self.ctx.nested(entry.name), str(exc))
        if self.skipped:
            self.ctx.report(
                "skipped-members",
                Severity.INFO,
                f"{self.skipped} large members hold plain data and were not read",
            )

    def _is_storage(self, name: str) -> bool:
        # torch reads data/<n> as raw tensor bytes and never unpickles them.
        if self.layout.kind not in TORCH_KINDS:
            return False
        prefix = f"{self.layout.folder}/data/"
        return name.startswith(prefix) and name[len(prefix) :].isdigit()

    def _role(self, name: str) -> str:
        if self.layout.kind in TORCH_KINDS and name.endswith(".pkl"):
            return "pickle"  # torch unpickles these whatever their bytes look like
        if self.layout.kind == "keras" and name == "config.json":
            return "keras-config"
        return "any"

    def _chunks(self, entry: zipread.ZipEntry, local: zipread.LocalHeader) -> Iterator[bytes]:
        return zipread.iter_member(
            self.source,
            entry,
            local.data_offset,
            max_bytes=self.ctx.limits.max_member_bytes,
            max_ratio=self.ctx.limits.max_compression_ratio,
            charge=self.budget.charge,
        )

    def _member(self, entry: zipread.ZipEntry, role: str) -> None:
        ctx = self.ctx.nested(entry.name)
        _check_member_path(entry.name, ctx)
        local = self._local_header(entry, ctx)
        if local is None:
            return
        opaque = (entry.flags | local.flags) & zipread.OPAQUE_FLAGS
        if entry.method not in zipread.SUPPORTED_METHODS and not opaque:
            ctx.report(
                "unsupported-compression",
                Severity.HIGH,
                f"compression method {entry.method} cannot be decoded; the member cannot be "
                "inspected",
            )
            return
        try:
            head = zipread.read_head(self._chunks(entry, local), HEAD_BYTES)
        except zipread.MemberDataError as exc:
            if opaque:
                _encrypted(ctx, opaque)
            else:
                _malformed(ctx, f"member data cannot be decoded ({exc})")
            return
        fmt = sniff_bytes(head, entry.size, entry.name)
        if opaque and not _opaque_but_readable(ctx, head, fmt, opaque):
            return
        if role == "any" and self._skippable(entry, fmt):
            self.skipped += 1
            return
        self._scan_content(entry, local, fmt, role, ctx)

    def _local_header(
        self, entry: zipread.ZipEntry, ctx: ScanContext
    ) -> zipread.LocalHeader | None:
        try:
            local = zipread.read_local_header(self.source, entry, self.directory.shift)
        except zipread.ZipFormatError as exc:
            _malformed(ctx, str(exc))
            return None
        if local.raw_name != entry.raw_name:
            ctx.report(
                "zip-name-mismatch",
                Severity.HIGH,
                f"the member's own header names it {zipread.decode_name(local.raw_name, 0)!r} "
                f"but the directory says {entry.name!r}: a scanner-evasion trick",
            )
        if local.method != entry.method:
            ctx.report(
                "zip-inconsistent",
                Severity.MEDIUM,
                f"local header says compression {local.method}, directory says {entry.method}",
            )
        return local

    def _skippable(self, entry: zipread.ZipEntry, fmt: str) -> bool:
        return (
            entry.size > SMALL_MEMBER
            and fmt in PLAIN_FORMATS
            and PurePosixPath(entry.name).name != "tokenizer_config.json"
        )

    def _scan_content(
        self,
        entry: zipread.ZipEntry,
        local: zipread.LocalHeader,
        fmt: str,
        role: str,
        ctx: ScanContext,
    ) -> None:
        if role == "keras-config":
            self._keras_config(entry, local, ctx)
            return
        stream: zipread.StreamSource | None = None
        if role == "pickle" or fmt == "pickle" or entry.size <= SMALL_MEMBER:
            source: ByteSource = BytesSource(self._read_whole(entry, local, ctx))
        elif entry.method == zipread.STORED:
            source = SliceSource(self.source, local.data_offset, entry.compressed_size)
        else:  # decoded only as far as the member's parser reads
            stream = zipread.StreamSource(self._chunks(entry, local), entry.size)
            source = stream
        if role == "pickle" and fmt != "pickle":
            _scan_pickle(source, ctx)
        else:
            _scan_nested(source, ctx)
        if stream is not None and stream.error:
            _malformed(ctx, f"member data cannot be decoded ({stream.error})")

    def _read_whole(
        self,
        entry: zipread.ZipEntry,
        local: zipread.LocalHeader,
        ctx: ScanContext,
        max_bytes: int | None = None,
    ) -> bytes:
        """The member's bytes; what decoded before an error is kept (and scanned)."""
        buf = bytearray()
        chunks = zipread.iter_member(
            self.source,
            entry,
            local.data_offset,
            max_bytes=max_bytes or self.ctx.limits.max_member_bytes,
            max_ratio=self.ctx.limits.max_compression_ratio,
            charge=self.budget.charge,
        )
        try:
            for chunk in chunks:
                buf += chunk
        except zipread.MemberDataError as exc:
            _malformed(ctx, f"member data cannot be decoded ({exc}); scanned what decoded")
            return bytes(buf)
        _check_whole(entry, buf, ctx)
        return bytes(buf)

    def _keras_config(
        self, entry: zipread.ZipEntry, local: zipread.LocalHeader, ctx: ScanContext
    ) -> None:
        from checks.weights import keras

        data = self._read_whole(entry, local, ctx, self.ctx.limits.max_config_bytes)
        _guarded(ctx, "Keras config", lambda: keras.scan_keras_config(data, ctx))


def _check_whole(entry: zipread.ZipEntry, data: bytearray, ctx: ScanContext) -> None:
    if zlib.crc32(data) != entry.crc:
        ctx.report(
            "zip-crc-mismatch",
            Severity.MEDIUM,
            "the member's CRC does not match its data; torch loads it anyway and some "
            "scanners skip it",
        )
    if len(data) != entry.size:
        ctx.report(
            "zip-inconsistent",
            Severity.MEDIUM,
            f"the directory says {entry.size} bytes but the member holds {len(data)}",
        )


def _encrypted(ctx: ScanContext, flags: int) -> None:
    ctx.report(
        "encrypted-entry",
        Severity.MEDIUM,
        f"member is encrypted or patched (flags {flags:#x}) and cannot be inspected",
    )


def _opaque_but_readable(ctx: ScanContext, head: bytes, fmt: str, flags: int) -> bool:
    """A member flagged encrypted/patched whose bytes still read as code: scan it, loudly."""
    if not _looks_loadable(head, fmt):
        _encrypted(ctx, flags)
        return False
    ctx.report(
        "zip-flag-evasion",
        Severity.HIGH,
        f"member is flagged encrypted or patched (flags {flags:#x}) but holds a readable "
        f"{fmt}: readers that ignore the flag load it, scanners that honour it skip it",
    )
    return True


def _looks_loadable(head: bytes, fmt: str) -> bool:
    # Ciphertext sniffs as protocol-0 pickle about one time in ten; demand a clearer opening.
    if fmt != "pickle":
        return fmt in CODE_CAPABLE
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return True
    return re.match(rb"c[\w.]+\n\w+\n|\((?:l|d|t|dp|lp)", head) is not None


# ---------------------------------------------------------------- tar


TAR_ERRORS = (tarfile.TarError, EOFError, OSError, ValueError, UnicodeError, struct.error)
LEGACY_TORCH_MEMBERS = frozenset({"pickle", "storages"})


def scan_tar(source: ByteSource, ctx: ScanContext) -> None:
    """Torch's legacy tar checkpoints and plain tars: every member, bounded."""
    with _budget(ctx):
        try:
            members = _tar_members(source, ctx)
        except TAR_ERRORS as exc:
            _malformed(ctx, f"tar structure is broken ({type(exc).__name__}: {exc})")
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
    _check_member_path(member.name, mctx)
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
        _malformed(mctx, "sparse tar member (its data layout is not read)")
        return
    data = SliceSource(source, member.offset_data, member.size)
    if data.size < member.size:
        _malformed(mctx, "tar member runs past the end of the file")
    if legacy and member.name in ("pickle", "sys_info"):
        _scan_pickle(data, mctx)
    elif legacy and member.name in ("storages", "tensors"):
        _guarded_legacy(data, member.name, mctx)
    else:
        _scan_nested(data, mctx)


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
        _malformed(ctx, f"cannot delimit the legacy {which} records ({exc}); the rest is unread")


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
    _scan_pickle_bytes(chunk[:stop], ctx)
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
    _scan_nested(SliceSource(data, pos, data.size - pos), ctx.nested("trailing data"))


# ---------------------------------------------------------------- 7z, compressed streams


def scan_7z(source: ByteSource, ctx: ScanContext) -> None:
    ctx.report(
        "unsupported-archive",
        Severity.HIGH,
        "7z archive: contents cannot be inspected; publish the files unpacked",
    )


_MAGIC = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "xz": b"\xfd7zXZ\x00", "zlib": b"\x78"}


def _stream_decoder(fmt: str) -> zipread.Decoder:
    if fmt == "gzip":
        return zipread.Inflater(31)
    if fmt == "zlib":
        return zipread.Inflater(15)
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
    with _budget(ctx) as budget:
        try:
            data, end = _decompress_all(source, fmt, ctx, budget)
        except LimitExceeded as exc:
            _limit(ctx, str(exc))
            return
        name = _decompressed_name(ctx)
        _scan_nested(BytesSource(data), ctx.nested(name))
        if end < source.size and source.read_at(end, HEAD_BYTES).strip(b"\x00"):
            ctx.report(
                "trailing-data",
                Severity.MEDIUM,
                f"{source.size - end} bytes follow the {fmt} stream",
            )
            tail = SliceSource(source, end, source.size - end)
            _scan_nested(tail, ctx.nested(f"{name} (trailing data)"))


def _decompress_all(
    source: ByteSource, fmt: str, ctx: ScanContext, budget: DecompressionBudget
) -> tuple[bytes, int]:
    """Every concatenated stream, as gzip/bz2/lzma readers do; returns data and where it ended."""
    out = bytearray()
    pos = 0
    while pos < source.size and source.read_at(pos, len(_MAGIC[fmt])) == _MAGIC[fmt]:
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
            _malformed(ctx, f"{fmt} stream cannot be decoded ({exc}); scanned what decoded")
            return bytes(out), source.size
        pos += fed - len(decoder.unused_data)
        if fmt == "zlib":
            break  # zlib readers stop after one stream
    return bytes(out), pos


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
