"""A zip reader that parses the structures itself, as leniently as the loaders it must outguess."""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource

EOCD_SIG = b"PK\x05\x06"
ZIP64_LOCATOR_SIG = b"PK\x06\x07"
ZIP64_EOCD_SIG = b"PK\x06\x06"
CENTRAL_SIG = b"PK\x01\x02"
LOCAL_SIG = b"PK\x03\x04"

_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_MAX_COMMENT = 0xFFFF

FLAG_ENCRYPTED = 0x1
FLAG_PATCHED = 0x20
FLAG_STRONG_ENCRYPTION = 0x40
FLAG_UTF8 = 0x800
# Bits that tell a reader the bytes are not plain (compressed) data; readers disagree on them.
OPAQUE_FLAGS = FLAG_ENCRYPTED | FLAG_PATCHED | FLAG_STRONG_ENCRYPTION

STORED, DEFLATED, BZIP2, LZMA = 0, 8, 12, 14
SUPPORTED_METHODS = frozenset({STORED, DEFLATED, BZIP2, LZMA})

IN_CHUNK = 64 << 10  # compressed bytes fed per step: keeps the ratio check close to the truth
OUT_CHUNK = 1 << 20  # decompressed bytes produced per step
RATIO_FLOOR = 1 << 20  # below this much output a high ratio is just a small, repetitive file


class ZipFormatError(Exception):
    """The zip structures are truncated or garbage: the archive cannot be read."""


class MemberDataError(Exception):
    """One member's compressed data cannot be decoded (corrupt, encrypted or unsupported)."""


@dataclass(frozen=True, slots=True)
class ZipEntry:
    """One central-directory record."""

    index: int
    name: str
    raw_name: bytes
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    header_offset: int

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/") and self.size == 0


@dataclass(frozen=True, slots=True)
class LocalHeader:
    """What a member's own local header says; loaders find the data through it."""

    raw_name: bytes
    flags: int
    method: int
    data_offset: int


@dataclass
class ZipDirectory:
    entries: list[ZipEntry]
    shift: int = 0  # bytes to add to recorded offsets (data prepended to the archive)
    anomalies: list[str] = field(default_factory=list)  # readers may disagree; scanned anyway


def decode_name(raw: bytes, flags: int) -> str:
    return raw.decode("utf-8", "replace") if flags & FLAG_UTF8 else raw.decode("cp437")


def read_directory(
    source: ByteSource, *, max_entries: int, max_directory_bytes: int
) -> ZipDirectory:
    """Find the end record, then parse every central-directory entry."""
    eocd_pos, eocd = _find_eocd(source)
    anomalies: list[str] = []
    if eocd_pos + _EOCD.size + eocd[6] != source.size:
        anomalies.append("the end-of-central-directory comment length does not match the file end")
    count, cd_size, cd_offset = eocd[3], eocd[4], eocd[5]
    end_of_records = eocd_pos
    zip64 = _read_zip64(source, eocd_pos, anomalies)
    if zip64 is not None:
        count, cd_size, cd_offset, end_of_records = zip64
    if cd_size > source.size:
        raise ZipFormatError("the central directory is larger than the file")
    if cd_size > max_directory_bytes:
        raise LimitExceeded(f"central directory of {cd_size} bytes exceeds {max_directory_bytes}")
    shift = _directory_shift(source, cd_offset, end_of_records - cd_size - cd_offset, anomalies)
    directory = source.read_at(cd_offset + shift, cd_size)
    if len(directory) < cd_size:
        raise ZipFormatError("the central directory runs past the end of the file")
    entries = _parse_central(directory, max_entries, anomalies)
    if len(entries) != count and count not in (0xFFFF, 0xFFFFFFFF):
        anomalies.append(
            f"the end record counts {count} entries but the directory holds {len(entries)}"
        )
    return ZipDirectory(entries, shift, anomalies)


def _find_eocd(source: ByteSource) -> tuple[int, tuple[int, ...]]:
    # Loaders take the last signature in the tail; so do we.
    if source.size < _EOCD.size:
        raise ZipFormatError("too short to hold a zip end record")
    start = max(0, source.size - _EOCD.size - _MAX_COMMENT)
    tail = source.read_at(start, source.size - start)
    pos = tail.rfind(EOCD_SIG)
    while pos >= 0:
        if pos + _EOCD.size <= len(tail):
            return start + pos, _EOCD.unpack_from(tail, pos)[1:]
        pos = tail.rfind(EOCD_SIG, 0, pos)
    raise ZipFormatError("no end-of-central-directory record")


def _read_zip64(
    source: ByteSource, eocd_pos: int, anomalies: list[str]
) -> tuple[int, int, int, int] | None:
    locator = source.read_at(eocd_pos - _ZIP64_LOCATOR.size, _ZIP64_LOCATOR.size)
    if eocd_pos < _ZIP64_LOCATOR.size or locator[:4] != ZIP64_LOCATOR_SIG:
        return None
    _, _, record_offset, _ = _ZIP64_LOCATOR.unpack(locator)
    adjacent = eocd_pos - _ZIP64_LOCATOR.size - _ZIP64_EOCD.size
    # miniz follows the locator; Python's zipfile looks right before it. Try both.
    for offset in (record_offset, adjacent):
        record = source.read_at(offset, _ZIP64_EOCD.size) if offset >= 0 else b""
        if len(record) == _ZIP64_EOCD.size and record[:4] == ZIP64_EOCD_SIG:
            if offset != record_offset:
                anomalies.append("the ZIP64 locator points away from the ZIP64 end record")
            fields = _ZIP64_EOCD.unpack(record)
            return fields[7], fields[8], fields[9], offset
    raise ZipFormatError("a ZIP64 locator with no ZIP64 end record")


def _directory_shift(source: ByteSource, cd_offset: int, concat: int, anomalies: list[str]) -> int:
    if source.read_at(cd_offset, 4) in (CENTRAL_SIG, EOCD_SIG, ZIP64_EOCD_SIG):
        if concat:
            anomalies.append(f"offsets disagree with the layout by {concat} bytes")
        return 0
    if concat > 0 and source.read_at(cd_offset + concat, 4) in (CENTRAL_SIG, EOCD_SIG):
        anomalies.append(f"{concat} bytes precede the archive; offsets are shifted")
        return concat
    raise ZipFormatError("the central directory is not where the end record says")


def _parse_central(directory: bytes, max_entries: int, anomalies: list[str]) -> list[ZipEntry]:
    entries: list[ZipEntry] = []
    pos = 0
    while pos + _CENTRAL.size <= len(directory):
        fields = _CENTRAL.unpack_from(directory, pos)
        if fields[0] != CENTRAL_SIG:
            anomalies.append(f"{len(directory) - pos} unparsed bytes inside the central directory")
            return entries
        if len(entries) >= max_entries:
            raise LimitExceeded(f"more than {max_entries} archive members")
        name_len, extra_len, comment_len = fields[12], fields[13], fields[14]
        name_end = pos + _CENTRAL.size + name_len
        extra = directory[name_end : name_end + extra_len]
        if name_end + extra_len > len(directory):
            raise ZipFormatError("a central-directory entry runs past the directory")
        raw_name = directory[pos + _CENTRAL.size : name_end]
        flags = fields[5]
        size, csize, offset = _apply_zip64(fields[11], fields[10], fields[18], extra)
        entries.append(
            ZipEntry(
                index=len(entries),
                name=decode_name(raw_name, flags),
                raw_name=raw_name,
                flags=flags,
                method=fields[6],
                crc=fields[9],
                compressed_size=csize,
                size=size,
                header_offset=offset,
            )
        )
        pos = name_end + extra_len + comment_len
    if pos < len(directory):
        anomalies.append(f"{len(directory) - pos} trailing bytes in the central directory")
    return entries


def _apply_zip64(size: int, csize: int, offset: int, extra: bytes) -> tuple[int, int, int]:
    """Replace saturated 32-bit fields by the ZIP64 extra field's 64-bit values, in order."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + length]
        pos += 4 + length
        if tag != 0x0001:
            continue
        values = [v for (v,) in struct.iter_unpack("<Q", body[: len(body) // 8 * 8])]
        wanted = [x == 0xFFFFFFFF for x in (size, csize, offset)]
        if sum(wanted) > len(values):
            raise ZipFormatError("a ZIP64 extra field is too short")
        it = iter(values)
        size = next(it) if wanted[0] else size
        csize = next(it) if wanted[1] else csize
        offset = next(it) if wanted[2] else offset
        break
    return size, csize, offset


def read_local_header(source: ByteSource, entry: ZipEntry, shift: int = 0) -> LocalHeader:
    offset = entry.header_offset + shift
    head = source.read_at(offset, _LOCAL.size)
    if len(head) < _LOCAL.size or head[:4] != LOCAL_SIG:
        raise ZipFormatError(f"no local header at offset {offset} for {entry.name!r}")
    fields = _LOCAL.unpack(head)
    name_len, extra_len = fields[10], fields[11]
    raw_name = source.read_at(offset + _LOCAL.size, name_len)
    data_offset = offset + _LOCAL.size + name_len + extra_len
    if data_offset + entry.compressed_size > source.size:
        raise ZipFormatError(f"the data of {entry.name!r} runs past the end of the file")
    return LocalHeader(
        raw_name=raw_name, flags=fields[3], method=fields[4], data_offset=data_offset
    )


class Decoder(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def needs_input(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int) -> bytes: ...


class Inflater:
    """zlib's decompressobj behind the needs_input API that bz2 and lzma already have."""

    def __init__(self, wbits: int) -> None:
        self._obj = zlib.decompressobj(wbits)
        self._tail = b""

    @property
    def eof(self) -> bool:
        return self._obj.eof

    @property
    def needs_input(self) -> bool:
        return not self._tail

    @property
    def unused_data(self) -> bytes:
        return self._obj.unused_data

    def decompress(self, data: bytes, max_length: int) -> bytes:
        out = self._obj.decompress(self._tail + data, max_length)
        self._tail = self._obj.unconsumed_tail
        return out


def _lzma_decoder(head: bytes) -> lzma.LZMADecompressor:
    # Zip's LZMA: 2-byte version, 2-byte properties size, then LZMA1 properties.
    if len(head) < 9:
        raise MemberDataError("LZMA header is truncated")
    (props_size,) = struct.unpack_from("<H", head, 2)
    props = head[4 : 4 + props_size]
    if props_size != 5 or props[0] >= 9 * 5 * 5:
        raise MemberDataError("LZMA properties are invalid")
    pb, rest = divmod(props[0], 45)
    lp, lc = divmod(rest, 9)
    (dict_size,) = struct.unpack_from("<L", props, 1)
    filters = [{"id": lzma.FILTER_LZMA1, "dict_size": dict_size, "lc": lc, "lp": lp, "pb": pb}]
    return lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=filters)


def make_decoder(method: int) -> Decoder:
    if method == DEFLATED:
        return Inflater(-15)
    if method == BZIP2:
        return bz2.BZ2Decompressor()
    raise MemberDataError(f"compression method {method} is not supported")


def iter_decoded(
    chunks: Iterator[bytes],
    decoder: Decoder,
    *,
    max_bytes: int,
    max_ratio: int,
    charge: Callable[[int], None] | None = None,
) -> Generator[bytes, None, int]:
    """Decompress ``chunks`` step by step; stop with LimitExceeded on a bomb.

    Returns how many compressed bytes it fed (the decoder's ``unused_data`` came after them).
    Raises MemberDataError when the stream is corrupt or ends before its end marker.
    """
    state = [0, 0]  # compressed bytes fed, decompressed bytes produced

    def drain(data: bytes) -> Iterator[bytes]:
        while True:
            try:
                out = decoder.decompress(data, OUT_CHUNK)
            except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
                raise MemberDataError(f"corrupt compressed data ({exc})") from None
            data = b""
            state[1] += len(out)
            _check_bounds(state[1], state[0], max_bytes, max_ratio)
            if charge is not None:
                charge(len(out))
            if out:
                yield out
            if decoder.eof or decoder.needs_input or not out:
                return

    for chunk in chunks:
        state[0] += len(chunk)
        yield from drain(chunk)
        if decoder.eof:
            return state[0]
    yield from drain(b"")  # zlib may hold output for input it has already taken
    if not decoder.eof:
        raise MemberDataError("compressed data ends before its end marker")
    return state[0]


def _check_bounds(produced: int, fed: int, max_bytes: int, max_ratio: int) -> None:
    if produced > max_bytes:
        raise LimitExceeded(f"decompresses to more than {max_bytes} bytes")
    if produced > RATIO_FLOOR and produced > max_ratio * max(fed, 1):
        raise LimitExceeded(f"compression ratio above {max_ratio}:1 (a decompression bomb)")


def _raw_chunks(source: ByteSource, offset: int, length: int) -> Iterator[bytes]:
    end = offset + length
    while offset < end:
        chunk = source.read_at(offset, min(IN_CHUNK, end - offset))
        if not chunk:
            return
        offset += len(chunk)
        yield chunk


def iter_member(
    source: ByteSource,
    entry: ZipEntry,
    data_offset: int,
    *,
    max_bytes: int,
    max_ratio: int,
    charge: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """The member's decompressed bytes, in chunks, as its central-directory method says."""
    if entry.method == STORED:
        if entry.compressed_size > max_bytes:
            raise LimitExceeded(f"member of {entry.compressed_size} bytes exceeds {max_bytes}")
        for chunk in _raw_chunks(source, data_offset, entry.compressed_size):
            if charge is not None:
                charge(len(chunk))
            yield chunk
        return
    raw = _raw_chunks(source, data_offset, entry.compressed_size)
    if entry.method == LZMA:
        header = source.read_at(data_offset, 4)
        props_len = struct.unpack_from("<H", header, 2)[0] if len(header) == 4 else 0
        head = source.read_at(data_offset, 4 + props_len)
        decoder: Decoder = _lzma_decoder(head)
        raw = _raw_chunks(source, data_offset + len(head), entry.compressed_size - len(head))
    else:
        decoder = make_decoder(entry.method)
    yield from iter_decoded(raw, decoder, max_bytes=max_bytes, max_ratio=max_ratio, charge=charge)


def read_head(chunks: Iterator[bytes], length: int) -> bytes:
    """The first ``length`` bytes of a chunk stream; reads no further than it must."""
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        if len(buf) >= length:
            break
    return bytes(buf[:length])


class StreamSource:
    """A compressed member decoded lazily: parsers that read only a header decode only that.

    A decoding error ends the stream early and is kept in ``error`` for the caller to report.
    """

    def __init__(self, chunks: Iterator[bytes], size: int) -> None:
        self._chunks = chunks
        self._size = size
        self._buf = bytearray()
        self._done = False
        self.error: str | None = None

    @property
    def size(self) -> int:
        return self._size

    def read_at(self, offset: int, length: int) -> bytes:
        if offset < 0 or length <= 0 or offset >= self._size:
            return b""
        end = min(offset + length, self._size)
        while len(self._buf) < end and not self._done:
            self._pull()
        return bytes(self._buf[offset:end])

    def _pull(self) -> None:
        try:
            chunk = next(self._chunks, None)
        except MemberDataError as exc:
            self.error = str(exc)
            chunk = None
        if chunk is None:
            self._done = True
        else:
            self._buf += chunk

    def view(self) -> memoryview | None:
        return None
