"""safetensors header validation: reads 8 bytes and the JSON header, never the tensors."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

from checks.findings import Severity
from checks.io.source import ByteSource
from checks.weights.context import ScanContext

RULE = "safetensors-invalid"
METADATA_KEY = "__metadata__"
MAX_REPORTED = 20  # one bad header can hold a million bad entries; say so once past this

# Bits per element for every dtype the current safetensors release accepts (0.8: 22 variants).
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "F64": 64,
    "I64": 64,
    "U64": 64,
}

# A loader stores shapes and offsets in 64-bit integers; larger values overflow it.
MAX_U64 = (1 << 64) - 1


class HeaderError(ValueError):
    """The header is not a JSON object a loader reads the same way we do."""


@dataclass(frozen=True)
class _Entry:
    name: str
    begin: int
    end: int


def scan_safetensors(source: ByteSource, ctx: ScanContext) -> None:
    """Report every way the header could make a loader crash, misread or read out of bounds."""
    header = _read_header(source, ctx)
    if header is None:
        return
    data_size = source.size - 8 - len(header)
    try:
        parsed = parse_header_json(header)
    except HeaderError as exc:
        ctx.report(RULE, Severity.HIGH, f"the header is not valid: {exc}")
        return
    problems: list[str] = []
    entries = _check_entries(parsed, data_size, problems)
    if not problems:
        _check_tiling(entries, data_size, problems)
    _report(problems, ctx)


def _read_header(source: ByteSource, ctx: ScanContext) -> bytes | None:
    prefix = source.read_at(0, 8)
    if len(prefix) < 8:
        ctx.report(RULE, Severity.HIGH, "the file is shorter than the 8-byte header length")
        return None
    (length,) = struct.unpack("<Q", prefix)
    if length > ctx.limits.max_header_bytes:
        ctx.report(
            RULE,
            Severity.HIGH,
            f"the header claims {length} bytes, over the {ctx.limits.max_header_bytes}-byte "
            "bound loaders enforce",
        )
        return None
    if length > source.size - 8:
        ctx.report(
            RULE,
            Severity.HIGH,
            f"the header claims {length} bytes but only {source.size - 8} follow the length",
        )
        return None
    header = source.read_at(8, length)
    if len(header) != length:
        ctx.report(RULE, Severity.HIGH, "the header could not be read in full")
        return None
    return header


def parse_header_json(header: bytes) -> dict[str, Any]:
    """The header as the Rust loader reads it: UTF-8, one JSON object, no duplicate keys, no
    NaN/Infinity. Shared with the evals' reader so both see the same file. Raises HeaderError."""
    if not header.startswith(b"{"):
        raise HeaderError("it does not start with '{' (the safetensors loader refuses that)")
    try:
        text = header.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HeaderError(f"it is not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except RecursionError:
        raise HeaderError("it nests too deeply to parse") from None
    except ValueError as exc:  # JSONDecodeError, over-long integer literals, our own hooks
        raise HeaderError(f"it is not JSON a loader accepts ({exc})") from None
    if not isinstance(value, dict):
        raise HeaderError("it is not a JSON object")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Parsers disagree on which duplicate wins, so two tools could see two different files.
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise HeaderError(f"the key {key!r} appears twice")
        seen[key] = value
    return seen


def _no_constant(name: str) -> Any:
    raise HeaderError(f"{name} is not JSON")


def _check_entries(header: dict[str, Any], data_size: int, problems: list[str]) -> list[_Entry]:
    entries: list[_Entry] = []
    for name, info in header.items():
        if not _encodable(name):
            problems.append(f"a tensor name is not valid Unicode: {name!r}")
            continue
        if name == METADATA_KEY:
            _check_metadata(info, problems)
            continue
        entry = _check_tensor(name, info, data_size, problems)
        if entry is not None:
            entries.append(entry)
    return entries


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escape; Rust's JSON parser rejects it
        return False
    return True


def _check_metadata(info: Any, problems: list[str]) -> None:
    if not isinstance(info, dict):
        problems.append("__metadata__ is not an object")
        return
    for key, value in info.items():
        if not isinstance(value, str) or not _encodable(value) or not _encodable(key):
            problems.append(f"__metadata__[{key!r}] is not a string (loaders want str→str)")


def _check_tensor(name: str, info: Any, data_size: int, problems: list[str]) -> _Entry | None:
    if not isinstance(info, dict):
        problems.append(f"tensor {name!r}: its entry is not an object")
        return None
    unknown = set(info) - {"dtype", "shape", "data_offsets"}
    missing = {"dtype", "shape", "data_offsets"} - set(info)
    if missing or unknown:
        what = f"missing {sorted(missing)}" if missing else f"unexpected keys {sorted(unknown)}"
        problems.append(f"tensor {name!r}: {what}")
        return None
    bits = DTYPE_BITS.get(info["dtype"]) if isinstance(info["dtype"], str) else None
    if bits is None:
        problems.append(f"tensor {name!r}: unknown dtype {info['dtype']!r}")
        return None
    shape = info["shape"]
    if not isinstance(shape, list) or not all(_is_u64(dim) for dim in shape):
        problems.append(f"tensor {name!r}: shape is not a list of non-negative integers")
        return None
    offsets = info["data_offsets"]
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_u64, offsets))):
        problems.append(f"tensor {name!r}: data_offsets is not [begin, end]")
        return None
    begin, end = offsets
    if begin > end or end > data_size:
        problems.append(
            f"tensor {name!r}: data_offsets [{begin}, {end}] fall outside the "
            f"{data_size}-byte data section"
        )
        return None
    expected = _byte_size(shape, bits)
    if expected != end - begin:
        problems.append(
            f"tensor {name!r}: shape {shape} of {info['dtype']} needs "
            f"{_describe(expected)} bytes but data_offsets span {end - begin}"
        )
        return None
    return _Entry(name, begin, end)


def _is_u64(value: Any) -> bool:
    # bool is an int subclass in Python, but true/false is no shape in JSON.
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_U64


def _byte_size(shape: list[int], bits: int) -> int | None:
    """Bytes the tensor needs; None when that is not whole bytes or overflows 64 bits."""
    if 0 in shape:
        return 0
    count = 1
    for dim in shape:
        count *= dim
        if count * bits > MAX_U64:  # stops the product early, so it stays small
            return None
    total_bits = count * bits
    return None if total_bits % 8 else total_bits // 8


def _describe(size: int | None) -> str:
    return "an overflowing or non-whole-byte number of" if size is None else str(size)


def _check_tiling(entries: list[_Entry], data_size: int, problems: list[str]) -> None:
    # The loader demands the ranges, sorted, tile the data section: no overlap, no gap, no tail.
    cursor = 0
    previous = "the start of the data section"
    for entry in sorted(entries, key=lambda e: (e.begin, e.end)):
        if entry.begin < cursor:
            problems.append(f"tensor {entry.name!r} overlaps {previous} at byte {entry.begin}")
        elif entry.begin > cursor:
            problems.append(
                f"{entry.begin - cursor} unclaimed bytes before tensor {entry.name!r} "
                f"(after {previous})"
            )
        cursor = max(cursor, entry.end)
        previous = f"tensor {entry.name!r}"
    if cursor != data_size:
        problems.append(
            f"{data_size - cursor} bytes after the last tensor belong to no tensor "
            "(a loader refuses the file; the bytes could hide a payload)"
        )


def _report(problems: list[str], ctx: ScanContext) -> None:
    for problem in problems[:MAX_REPORTED]:
        ctx.report(RULE, Severity.HIGH, f"{problem}; a loader may crash or read out of bounds")
    if len(problems) > MAX_REPORTED:
        ctx.report(
            RULE,
            Severity.HIGH,
            f"{len(problems) - MAX_REPORTED} more header problems not listed",
        )
