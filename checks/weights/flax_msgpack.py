"""Flax msgpack checkpoints: a bounded walk of the msgpack structure; array bytes are never read.

flax.serialization writes nested maps of str keys to plain values and ext-typed arrays (ext 1
ndarray, 2 native complex, 3 numpy scalar). Each ndarray ext holds a small msgpack triple
(shape, dtype name, buffer): its shape and dtype are checked against the buffer's length.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource
from checks.weights.context import ScanContext

INVALID = "flax-invalid"
UNKNOWN_EXT = "flax-unknown-ext"
NON_DATA = "flax-non-data"
EXT_NDARRAY, EXT_COMPLEX, EXT_SCALAR = 1, 2, 3
CHUNK = 64 << 10
MAX_NAME = 256
MAX_DIMS = 64

# dtype names flax writes for numeric arrays (numpy's, and ml_dtypes' that jax registers).
ITEMSIZE = {
    "bool": 1, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4, "uint32": 4,
    "int64": 8, "uint64": 8, "float16": 2, "float32": 4, "float64": 8, "float128": 16,
    "complex64": 8, "complex128": 16, "complex256": 32, "bfloat16": 2,
    "float8_e4m3fn": 1, "float8_e4m3fnuz": 1, "float8_e5m2": 1, "float8_e5m2fnuz": 1,
    "float8_e4m3b11fnuz": 1, "float8_e3m4": 1, "float8_e4m3": 1, "float8_e8m0fnu": 1,
    "float4_e2m1fn": 1, "float6_e2m3fn": 1, "float6_e3m2fn": 1,
    "int2": 1, "int4": 1, "uint2": 1, "uint4": 1,
}  # fmt: skip

# Lead byte -> (kind, width of the length or value that follows) for the non-fixed types.
_SIZED = {
    0xC4: ("bin", 1), 0xC5: ("bin", 2), 0xC6: ("bin", 4),
    0xC7: ("ext", 1), 0xC8: ("ext", 2), 0xC9: ("ext", 4),
    0xCA: ("float", 4), 0xCB: ("float", 8),
    0xCC: ("uint", 1), 0xCD: ("uint", 2), 0xCE: ("uint", 4), 0xCF: ("uint", 8),
    0xD0: ("int", 1), 0xD1: ("int", 2), 0xD2: ("int", 4), 0xD3: ("int", 8),
    0xD9: ("str", 1), 0xDA: ("str", 2), 0xDB: ("str", 4),
    0xDC: ("array", 2), 0xDD: ("array", 4), 0xDE: ("map", 2), 0xDF: ("map", 4),
}  # fmt: skip
_FIXEXT = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}


class MsgpackError(Exception):
    """The bytes are not the msgpack flax writes; the message says where."""


@dataclass(frozen=True, slots=True)
class Item:
    """One msgpack object: its kind, its scalar ``value`` (or element count), where it ends.

    For str, bin and ext the payload lies at ``start``..``end``; ``code`` is an ext's type."""

    kind: str
    value: object
    start: int
    end: int
    code: int = 0


@dataclass
class _Found:
    arrays: int = 0
    unknown_ext: dict[int, int] = field(default_factory=dict)  # code -> count
    non_data: list[str] = field(default_factory=list)
    odd_keys: int = 0


class _Reader:
    def __init__(self, source: ByteSource, max_items: int, max_depth: int) -> None:
        self.source = source
        self.max_items = max_items
        self.max_depth = max_depth
        self.items = 0
        self._buf = b""
        self._at = 0

    def read(self, offset: int, n: int, end: int) -> bytes:
        if offset + n > end:
            raise MsgpackError(f"the data ends inside an object at byte {offset} (truncated?)")
        if not (self._at <= offset and offset + n <= self._at + len(self._buf)):
            self._buf = self.source.read_at(offset, max(n, CHUNK))
            self._at = offset
        return self._buf[offset - self._at : offset - self._at + n]

    def item(self, pos: int, end: int) -> Item:
        """The object at ``pos`` without its elements (a map or array says how many)."""
        self.items += 1
        if self.items > self.max_items:
            raise LimitExceeded(f"more than {self.max_items} msgpack objects")
        lead = self.read(pos, 1, end)[0]
        pos += 1
        if lead <= 0x7F or lead >= 0xE0:
            return Item("int", lead if lead <= 0x7F else lead - 0x100, pos, pos)
        if lead <= 0x8F:
            return Item("map", lead & 0x0F, pos, pos)
        if lead <= 0x9F:
            return Item("array", lead & 0x0F, pos, pos)
        if lead <= 0xBF:
            return self._payload("str", lead & 0x1F, pos, end)
        if lead in (0xC0, 0xC2, 0xC3):
            return Item("nil" if lead == 0xC0 else "bool", lead == 0xC3, pos, pos)
        if lead in _FIXEXT:
            code = struct.unpack(">b", self.read(pos, 1, end))[0]
            return Item("ext", None, pos + 1, self._past(pos + 1, _FIXEXT[lead], end), code)
        sized = _SIZED.get(lead)
        if sized is None:
            raise MsgpackError(f"byte 0x{lead:02x} at {pos - 1} starts no msgpack object")
        kind, width = sized
        raw = self.read(pos, width, end)
        pos += width
        if kind == "float":
            return Item(kind, struct.unpack(">f" if width == 4 else ">d", raw)[0], pos, pos)
        number = int.from_bytes(raw, "big", signed=kind == "int")
        if kind in ("uint", "int", "map", "array"):
            return Item("int" if kind == "uint" else kind, number, pos, pos)
        if kind == "ext":
            code = struct.unpack(">b", self.read(pos, 1, end))[0]
            return Item(kind, None, pos + 1, self._past(pos + 1, number, end), code)
        return self._payload(kind, number, pos, end)

    def _payload(self, kind: str, length: int, pos: int, end: int) -> Item:
        return Item(kind, length, pos, self._past(pos, length, end))

    @staticmethod
    def _past(pos: int, length: int, end: int) -> int:
        if pos + length > end:
            raise MsgpackError(
                f"an object at byte {pos} claims {length} bytes, past the end at byte {end} "
                "(truncated?)"
            )
        return pos + length

    def text(self, item: Item, end: int) -> str:
        n = min(item.end - item.start, MAX_NAME)
        return self.read(item.start, n, end).decode("utf-8", "replace")


def scan_msgpack(source: ByteSource, ctx: ScanContext) -> None:
    """Walk the whole file; a structure flax does not write is a finding, never an exception."""
    reader = _Reader(source, ctx.limits.max_proto_fields, ctx.limits.max_proto_depth)
    found = _Found()
    try:
        top = reader.item(0, source.size)
        if top.kind != "map":
            found.non_data.append(f"the top level is {_a(top.kind)}, not a map of names")
        end = _walk(reader, top, source.size, 0, found)
        if end != source.size:
            raise MsgpackError(f"{source.size - end} bytes follow the state dict at byte {end}")
    except MsgpackError as exc:
        ctx.report(INVALID, Severity.HIGH, f"malformed Flax msgpack: {exc}; flax cannot load it")
        return
    _report(found, ctx)


def _walk(reader: _Reader, item: Item, end: int, depth: int, found: _Found) -> int:
    """Check ``item`` and everything inside it; the offset just past it."""
    if depth > reader.max_depth:
        raise LimitExceeded(f"msgpack nested deeper than {reader.max_depth} levels")
    if item.kind == "ext":
        _ext(reader, item, found)
        return item.end
    if item.kind not in ("map", "array"):
        return item.end
    pos = item.end
    assert isinstance(item.value, int)
    is_map = item.kind == "map"
    for index in range(item.value * (2 if is_map else 1)):
        inner = reader.item(pos, end)
        if is_map and index % 2 == 0 and inner.kind != "str":
            found.odd_keys += 1
        pos = _walk(reader, inner, end, depth + 1, found)
    return pos


def _ext(reader: _Reader, item: Item, found: _Found) -> None:
    if item.code == EXT_COMPLEX:
        pair = reader.item(item.start, item.end)
        parts = []
        pos = pair.end
        for _ in range(pair.value if pair.kind == "array" and isinstance(pair.value, int) else 0):
            part = reader.item(pos, item.end)
            parts.append(part.kind)
            pos = part.end
        if pair.kind != "array" or parts not in (["float"] * 2, ["int"] * 2) or pos != item.end:
            found.non_data.append("a complex number that is not a (real, imag) pair")
        return
    if item.code not in (EXT_NDARRAY, EXT_SCALAR):
        found.unknown_ext[item.code] = found.unknown_ext.get(item.code, 0) + 1
        return
    found.arrays += 1
    _ndarray(reader, item, found)


def _ndarray(reader: _Reader, item: Item, found: _Found) -> None:
    end = item.end
    triple = reader.item(item.start, end)
    if triple.kind != "array" or triple.value != 3:
        found.non_data.append("an array ext that is not a (shape, dtype, bytes) triple")
        return
    shape = reader.item(triple.end, end)
    if shape.kind != "array" or not isinstance(shape.value, int) or shape.value > MAX_DIMS:
        found.non_data.append("an array whose shape is not a list of dimensions")
        return
    count, pos = 1, shape.end
    for _ in range(shape.value):
        dim = reader.item(pos, end)
        if dim.kind != "int" or not isinstance(dim.value, int) or dim.value < 0:
            found.non_data.append("an array whose shape is not a list of dimensions")
            return
        count, pos = count * dim.value, dim.end
    dtype = reader.item(pos, end)
    if dtype.kind not in ("str", "bin"):
        found.non_data.append("an array whose dtype is not a name")
        return
    name = reader.text(dtype, end)
    buffer = reader.item(dtype.end, end)
    if buffer.kind != "bin" or buffer.end != end:
        found.non_data.append(f"an array of {name!r} whose data is not one byte string")
        return
    itemsize = ITEMSIZE.get(name)
    if itemsize is None:
        found.non_data.append(f"an array of dtype {name!r}, which is not a numeric type")
    elif count * itemsize != buffer.end - buffer.start:
        found.non_data.append(
            f"an array of {count} {name} values held in {buffer.end - buffer.start} bytes"
        )


def _a(kind: str) -> str:
    return {"int": "an int", "array": "an array", "ext": "an ext"}.get(kind, f"a {kind}")


def _report(found: _Found, ctx: ScanContext) -> None:
    for code, count in sorted(found.unknown_ext.items()):
        ctx.report(
            UNKNOWN_EXT,
            Severity.HIGH,
            f"{count} msgpack ext objects of type {code}, which flax never writes (it writes "
            "1 ndarray, 2 complex, 3 numpy scalar): a loader hands them on as opaque bytes",
            code=code,
        )
    if found.non_data:
        first = found.non_data[0]
        ctx.report(
            NON_DATA,
            Severity.HIGH,
            f"{len(found.non_data)} values are not the arrays and plain data flax writes "
            f"(first: {first})",
            count=len(found.non_data),
        )
    if found.odd_keys:
        ctx.report(
            NON_DATA,
            Severity.MEDIUM,
            f"{found.odd_keys} map keys are not strings; flax state dicts name every entry",
            count=found.odd_keys,
        )
