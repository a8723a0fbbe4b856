"""GGUF header, metadata and tensor infos, parsed with bounds; tensor data is never read."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource
from checks.weights.chat_template import check_template
from checks.weights.context import ScanContext
from checks.weights.limits import Limits

RULE = "gguf-invalid"
MAGIC = b"GGUF"
CHUNK = 1 << 20
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 4  # GGML_MAX_DIMS: llama.cpp refuses tensors with more
MAX_KEY_BYTES = 1 << 16
MAX_ARRAY_NESTING = 4
INT64_MAX = (1 << 63) - 1
TEMPLATE_KEY = "tokenizer.chat_template"
MIN_ENTRY_BYTES = 12  # the smallest key/value pair or tensor info in any version

# GGUF metadata value types: fixed-size scalars by struct code, then the variable ones.
SCALARS: dict[int, str] = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q"}
SCALARS |= {11: "q", 12: "d"}
STRING, ARRAY = 8, 9

# ggml tensor types: (elements per block, bytes per block). Gaps are types removed from GGUF.
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
    40: ("NVFP4", 64, 36),
}


class _Invalid(Exception):
    """The file breaks the format; the message says where."""


@dataclass(frozen=True)
class _Tensor:
    name: str
    offset: int
    nbytes: int | None  # None: a type we do not know, so its size cannot be checked


class _Reader:
    """Sequential reads through ``read_at`` in bounded chunks, never past the metadata bound."""

    def __init__(self, source: ByteSource, limits: Limits, endian: str) -> None:
        self.source = source
        self.limit = min(source.size, limits.max_header_bytes)
        self.endian = endian
        self.wide = True  # version 1 uses 32-bit lengths and counts
        self.pos = 0
        self._buf = b""
        self._buf_at = 0

    def _claim(self, n: int, what: str) -> int:
        start = self.pos
        if n < 0 or start + n > self.source.size:
            raise _Invalid(f"the file ends inside {what} (byte {start})")
        if start + n > self.limit:
            raise LimitExceeded(f"GGUF metadata runs past {self.limit} bytes")
        self.pos = start + n
        return start

    def take(self, n: int, what: str) -> bytes:
        start = self._claim(n, what)
        end = start + n
        if not (self._buf_at <= start and end <= self._buf_at + len(self._buf)):
            self._buf = self.source.read_at(start, max(n, CHUNK))
            self._buf_at = start
        return self._buf[start - self._buf_at : end - self._buf_at]

    def skip(self, n: int, what: str) -> None:
        self._claim(n, what)

    def scalar(self, code: str, what: str) -> int | float:
        data = self.take(struct.calcsize(code), what)
        value: int | float = struct.unpack(self.endian + code, data)[0]
        return value

    def u32(self, what: str) -> int:
        return int(self.scalar("I", what))

    def count(self, what: str) -> int:
        return int(self.scalar("Q" if self.wide else "I", what))

    def string_bytes(self, what: str, limit: int | None = None) -> bytes:
        length = self.count(f"the length of {what}")
        if limit is not None and length > limit:
            raise _Invalid(f"{what} claims {length} bytes, over {limit}")
        return self.take(length, what)

    def skip_string(self, what: str) -> None:
        self.skip(self.count(f"the length of {what}"), what)


def scan_gguf(source: ByteSource, ctx: ScanContext) -> None:
    """Parse the whole header; any violation is one ``gguf-invalid`` finding saying where."""
    try:
        _scan(source, ctx)
    except _Invalid as exc:
        ctx.report(RULE, Severity.HIGH, f"malformed GGUF: {exc}; a loader may crash or misread")
    except LimitExceeded as exc:  # reported here so a nested scan goes on with its siblings
        ctx.report("limit-exceeded", Severity.HIGH, f"scan stopped at a safety bound: {exc}")


def _scan(source: ByteSource, ctx: ScanContext) -> None:
    reader, n_tensors, n_kv = _open(source, ctx.limits)
    alignment = _read_metadata(reader, n_kv, ctx)
    tensors = [_read_tensor_info(reader, i) for i in range(n_tensors)]
    data_start = -(-reader.pos // alignment) * alignment
    _check_tensors(tensors, alignment, source.size - data_start, ctx)


def _open(source: ByteSource, limits: Limits) -> tuple[_Reader, int, int]:
    """The reader past the header, with the tensor and metadata counts checked."""
    head = source.read_at(0, 8)
    if len(head) < 8 or head[:4] != MAGIC:
        raise _Invalid("no GGUF magic and version")
    version, endian = _version(head[4:8])
    reader = _Reader(source, limits, endian)
    reader.wide = version >= 2
    reader.skip(8, "the header")
    n_tensors = reader.count("the tensor count")
    n_kv = reader.count("the metadata count")
    for what, n in (("tensors", n_tensors), ("metadata entries", n_kv)):
        if n * MIN_ENTRY_BYTES > source.size - reader.pos:
            raise _Invalid(f"it claims {n} {what}, more than the file can hold")
        if n > limits.max_gguf_entries:
            raise LimitExceeded(f"{n} GGUF {what}, over {limits.max_gguf_entries}")
    return reader, n_tensors, n_kv


def general_metadata(source: ByteSource, limits: Limits | None = None) -> dict[str, str | int]:
    """The ``general.*`` strings and integers of a GGUF file (licence, name, base models), for the
    licence check; empty when the file is not valid GGUF (the weight scan reports that)."""
    limits = limits or Limits()
    found: dict[str, str | int] = {}
    try:
        reader, _, n_kv = _open(source, limits)
        for index in range(n_kv):
            key = _decode(reader.string_bytes(f"metadata key #{index}", MAX_KEY_BYTES), "a key")
            vtype = reader.u32(f"the type of {key!r}")
            if key.startswith("general.") and vtype == STRING:
                raw = reader.string_bytes(key, MAX_KEY_BYTES)
                found[key] = raw.decode("utf-8", "replace")
            elif key.startswith("general.") and vtype in SCALARS and SCALARS[vtype] in "BHIQbhiq":
                found[key] = int(reader.scalar(SCALARS[vtype], key))
            else:
                _skip_value(reader, vtype, key, 0, limits)
    except (_Invalid, LimitExceeded):
        return found
    return found


def _version(raw: bytes) -> tuple[int, str]:
    (version,) = struct.unpack("<I", raw)
    endian = "<"
    if version & 0xFFFF == 0:  # a big-endian file read little-endian: the version is swapped
        (version,) = struct.unpack(">I", raw)
        endian = ">"
    if not 1 <= version <= 3:
        raise _Invalid(f"unsupported version {version}")
    return version, endian


def _read_metadata(reader: _Reader, n_kv: int, ctx: ScanContext) -> int:
    alignment = DEFAULT_ALIGNMENT
    seen: set[str] = set()
    for index in range(n_kv):
        raw_key = reader.string_bytes(f"metadata key #{index}", MAX_KEY_BYTES)
        key = _decode(raw_key, f"metadata key #{index}")
        if key in seen:
            raise _Invalid(f"metadata key {key!r} appears twice")
        seen.add(key)
        vtype = reader.u32(f"the type of {key!r}")
        if key == "general.alignment":
            alignment = _read_alignment(reader, vtype)
        elif _is_template_key(key) and vtype == STRING:
            text = reader.string_bytes(key, ctx.limits.max_config_bytes)
            check_template(text.decode("utf-8", "replace"), ctx, f"GGUF metadata {key}")
        else:
            _skip_value(reader, vtype, key, 0, ctx.limits)
    return alignment


def _is_template_key(key: str) -> bool:
    return key == TEMPLATE_KEY or key.startswith(TEMPLATE_KEY + ".")


def _decode(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Invalid(f"{what} is not UTF-8") from None


def _read_alignment(reader: _Reader, vtype: int) -> int:
    if vtype != 4:
        raise _Invalid("general.alignment is not a uint32")
    alignment = reader.u32("general.alignment")
    if alignment == 0 or alignment & (alignment - 1):
        raise _Invalid(f"general.alignment {alignment} is not a power of two")
    return alignment


def _skip_value(reader: _Reader, vtype: int, key: str, depth: int, limits: Limits) -> None:
    if vtype in SCALARS:
        reader.skip(struct.calcsize(SCALARS[vtype]), f"the value of {key!r}")
    elif vtype == STRING:
        reader.skip_string(f"the value of {key!r}")
    elif vtype == ARRAY:
        _skip_array(reader, key, depth, limits)
    else:
        raise _Invalid(f"metadata {key!r} has unknown value type {vtype}")


def _skip_array(reader: _Reader, key: str, depth: int, limits: Limits) -> None:
    if depth >= MAX_ARRAY_NESTING:
        raise _Invalid(f"metadata {key!r} nests arrays deeper than {MAX_ARRAY_NESTING}")
    item_type = reader.u32(f"the item type of {key!r}")
    length = reader.count(f"the length of {key!r}")
    if item_type in SCALARS:  # fixed-size items: one bounds check, nothing read
        reader.skip(length * struct.calcsize(SCALARS[item_type]), f"the array {key!r}")
        return
    if item_type not in (STRING, ARRAY):
        raise _Invalid(f"metadata {key!r} holds items of unknown type {item_type}")
    # Each item takes at least 4 bytes, so a length past the file's end fails up front.
    if length * 4 > reader.source.size - reader.pos:
        raise _Invalid(f"the array {key!r} claims more items than the file holds")
    if length > limits.max_gguf_entries:
        raise LimitExceeded(f"array {key!r} has {length} items")
    for _ in range(length):
        _skip_value(reader, item_type, key, depth + 1, limits)


def _read_tensor_info(reader: _Reader, index: int) -> _Tensor:
    name = _decode(reader.string_bytes(f"tensor #{index}'s name", MAX_KEY_BYTES), "a tensor name")
    n_dims = reader.u32(f"tensor {name!r}'s rank")
    if n_dims > MAX_DIMS:
        raise _Invalid(f"tensor {name!r} has {n_dims} dimensions, over {MAX_DIMS}")
    dims = [reader.count(f"tensor {name!r}'s shape") for _ in range(n_dims)]
    ggml_type = reader.u32(f"tensor {name!r}'s type")
    offset = int(reader.scalar("Q", f"tensor {name!r}'s offset"))
    return _Tensor(name, offset, _tensor_bytes(name, dims, ggml_type))


def _tensor_bytes(name: str, dims: list[int], ggml_type: int) -> int | None:
    elements = 1
    for dim in dims:
        elements *= dim
        if dim > INT64_MAX or elements > INT64_MAX:
            raise _Invalid(f"tensor {name!r}'s shape {dims} overflows 64-bit sizes")
    info = GGML_TYPES.get(ggml_type)
    if info is None:
        return None
    type_name, block, block_bytes = info
    if dims and dims[0] % block:
        raise _Invalid(f"tensor {name!r}: {type_name} rows must hold whole {block}-blocks")
    return elements // block * block_bytes


def _check_tensors(
    tensors: list[_Tensor], alignment: int, data_size: int, ctx: ScanContext
) -> None:
    names: set[str] = set()
    for tensor in tensors:
        if tensor.name in names:
            raise _Invalid(f"tensor name {tensor.name!r} appears twice")
        names.add(tensor.name)
        if tensor.offset % alignment:
            raise _Invalid(
                f"tensor {tensor.name!r} offset {tensor.offset} is not {alignment}-aligned"
            )
        size = tensor.nbytes or 0
        if data_size < 0 or tensor.offset + size > data_size:
            raise _Invalid(
                f"tensor {tensor.name!r} at {tensor.offset} (+{size} bytes) runs past the "
                f"{max(data_size, 0)}-byte data section"
            )
        if tensor.nbytes is None:
            ctx.report(
                RULE,
                Severity.MEDIUM,
                f"tensor {tensor.name!r} has a ggml type this scanner does not know; its size "
                "is unchecked",
            )
    _check_overlaps(tensors)


def _check_overlaps(tensors: list[_Tensor]) -> None:
    end, previous = 0, ""
    for tensor in sorted(tensors, key=lambda t: t.offset):
        if tensor.offset < end:
            raise _Invalid(f"tensor {tensor.name!r} overlaps tensor {previous!r}")
        end = max(end, tensor.offset + (tensor.nbytes or 0))
        previous = tensor.name


@dataclass(frozen=True)
class TensorLayout:
    """One tensor as stored: ``dims`` in ggml order (the fastest-varying first), ``start`` the
    absolute byte offset, ``nbytes`` None for a ggml type this module does not know."""

    name: str
    dims: tuple[int, ...]
    ggml_type: int
    start: int
    nbytes: int | None


@dataclass(frozen=True)
class Layout:
    metadata: dict[str, str | int]  # string and integer metadata (arrays left out)
    tensors: list[TensorLayout]


class LayoutError(ValueError):
    """Not a GGUF file whose tensors can be located; the weight scan reports why."""


def read_layout(source: ByteSource, limits: Limits | None = None) -> Layout:
    """Metadata scalars and every tensor's place, within the header bounds; each tensor is
    checked to lie inside the file, so a bounded read of it never runs past the end."""
    limits = limits or Limits()
    try:
        reader, n_tensors, n_kv = _open(source, limits)
        alignment = DEFAULT_ALIGNMENT
        found: dict[str, str | int] = {}
        for index in range(n_kv):
            key = _decode(reader.string_bytes(f"metadata key #{index}", MAX_KEY_BYTES), "a key")
            vtype = reader.u32(f"the type of {key!r}")
            if key == "general.alignment":
                alignment = _read_alignment(reader, vtype)
                found[key] = alignment
            elif vtype == STRING:
                found[key] = reader.string_bytes(key, MAX_KEY_BYTES).decode("utf-8", "replace")
            elif vtype in SCALARS and SCALARS[vtype] in "BHIQbhiq":
                found[key] = int(reader.scalar(SCALARS[vtype], key))
            else:
                _skip_value(reader, vtype, key, 0, limits)
        infos = []
        for index in range(n_tensors):
            name = _decode(
                reader.string_bytes(f"tensor #{index}'s name", MAX_KEY_BYTES), "a tensor name"
            )
            n_dims = reader.u32(f"tensor {name!r}'s rank")
            if n_dims > MAX_DIMS:
                raise _Invalid(f"tensor {name!r} has {n_dims} dimensions, over {MAX_DIMS}")
            dims = tuple(reader.count(f"tensor {name!r}'s shape") for _ in range(n_dims))
            ggml_type = reader.u32(f"tensor {name!r}'s type")
            offset = int(reader.scalar("Q", f"tensor {name!r}'s offset"))
            infos.append(
                (name, dims, ggml_type, offset, _tensor_bytes(name, list(dims), ggml_type))
            )
    except (_Invalid, LimitExceeded) as exc:
        raise LayoutError(str(exc)) from None
    data_start = -(-reader.pos // alignment) * alignment
    tensors = []
    for name, dims, ggml_type, offset, nbytes in infos:
        start = data_start + offset
        if start + (nbytes or 0) > source.size:
            raise LayoutError(f"tensor {name!r} runs past the end of the file")
        tensors.append(TensorLayout(name, dims, ggml_type, start, nbytes))
    return Layout(found, tensors)
