"""numpy .npy files: the header is parsed as a literal; object arrays are pickles and are walked."""

from __future__ import annotations

import ast
import io
import math
import struct
import tokenize
import warnings
from dataclasses import dataclass
from typing import Any

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource, SliceSource
from checks.weights.context import ScanContext, not_scanned
from checks.weights.sniff import CODE_CAPABLE, HEAD_BYTES, sniff_bytes

MAGIC = b"\x93NUMPY"
# numpy.load refuses headers above 10 000 bytes unless allow_pickle is set; a generous cap
# keeps literal_eval's memory small whatever limits.max_header_bytes says.
MAX_LITERAL_HEADER = 1 << 20
EXPECTED_KEYS = frozenset({"descr", "fortran_order", "shape"})
_LAYOUT_TOKENS = frozenset(
    {tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT}
)


class NumpyFormatError(Exception):
    """The header is not one numpy would read."""


@dataclass(frozen=True)
class NpyHeader:
    version: tuple[int, int]
    descr: Any
    fortran_order: bool
    shape: tuple[int, ...]
    data_offset: int


def scan_npy(source: ByteSource, ctx: ScanContext) -> None:
    """Object arrays → pickle walk; plain arrays → the size must match the header."""
    try:
        header = read_header(source, ctx.limits.max_header_bytes)
        has_object, itemsize = describe(header.descr)
    except NumpyFormatError as exc:
        ctx.report(
            "malformed-numpy",
            Severity.HIGH,
            f"the .npy header is malformed ({exc}); whether the data is a pickle cannot be "
            "told, so the file cannot be shown safe",
        )
        return
    if has_object:
        _scan_object_payload(source, header.data_offset, ctx)
        return
    expected = math.prod(header.shape) * itemsize
    actual = source.size - header.data_offset
    if actual != expected:
        _size_mismatch(source, header, expected, actual, ctx)


def read_header(source: ByteSource, max_header_bytes: int) -> NpyHeader:
    fixed = source.read_at(0, 12)
    if len(fixed) < 10 or fixed[:6] != MAGIC:
        raise NumpyFormatError("the magic string or version is cut off")
    version = (fixed[6], fixed[7])
    if version == (1, 0):
        (length,), start = struct.unpack_from("<H", fixed, 8), 10
    elif version in ((2, 0), (3, 0)) and len(fixed) == 12:
        (length,), start = struct.unpack_from("<I", fixed, 8), 12
    else:
        raise NumpyFormatError(f"unknown format version {version[0]}.{version[1]}")
    if length > min(max_header_bytes, MAX_LITERAL_HEADER):
        raise LimitExceeded(f".npy header of {length} bytes exceeds the parser's bound")
    raw = source.read_at(start, length)
    if len(raw) < length:
        raise NumpyFormatError("the header is cut off")
    text = _decode(raw, version)
    fields = _literal(text, version)
    return _validate(fields, version, start + length)


def _decode(raw: bytes, version: tuple[int, int]) -> str:
    try:
        return raw.decode("utf-8" if version == (3, 0) else "latin1")
    except UnicodeDecodeError:
        raise NumpyFormatError("the header is not valid UTF-8") from None


def _literal(text: str, version: tuple[int, int]) -> Any:
    # A literal only: ast.literal_eval builds constants and containers, it never calls anything.
    try:
        return ast.literal_eval(text)
    except SyntaxError:
        if version == (3, 0):
            raise NumpyFormatError("the header is not a Python literal") from None
    except (ValueError, TypeError, MemoryError, RecursionError):
        raise NumpyFormatError("the header is not a Python literal") from None
    try:  # files written by Python 2 spell integers 3L; numpy strips the L and retries
        return ast.literal_eval(_strip_long_suffix(text))
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        raise NumpyFormatError("the header is not a Python literal") from None


def _strip_long_suffix(text: str) -> str:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return text
    parts: list[str] = []
    for tok in tokens:
        if tok.type in _LAYOUT_TOKENS:
            continue
        if tok.type == tokenize.NAME and tok.string == "L" and parts and parts[-1][0].isdigit():
            continue
        parts.append(tok.string)
    return " ".join(parts)


def _validate(fields: Any, version: tuple[int, int], data_offset: int) -> NpyHeader:
    if not isinstance(fields, dict) or set(fields) != EXPECTED_KEYS:
        raise NumpyFormatError("the header must be a dict of descr, fortran_order and shape")
    shape = fields["shape"]
    if not isinstance(shape, tuple) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise NumpyFormatError(f"shape {shape!r} is not a tuple of non-negative integers")
    if not isinstance(fields["fortran_order"], bool):
        raise NumpyFormatError("fortran_order is not a bool")
    return NpyHeader(version, fields["descr"], fields["fortran_order"], shape, data_offset)


def describe(descr: Any) -> tuple[bool, int]:
    """(holds Python objects, bytes per element), as numpy's own descr parser says."""
    import numpy
    from numpy.lib import format as npformat

    # Only literal data reaches numpy here; dtype construction from it runs no code.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy loads deprecated spellings too
            dtype = npformat.descr_to_dtype(descr)
    except Exception as exc:  # whatever numpy rejects, numpy.load rejects too
        raise NumpyFormatError(f"descr {descr!r} is not a numpy dtype ({exc})") from None
    if not isinstance(dtype, numpy.dtype):
        raise NumpyFormatError(f"descr {descr!r} is not a numpy dtype")
    return bool(dtype.hasobject), int(dtype.itemsize)


def _scan_object_payload(source: ByteSource, offset: int, ctx: ScanContext) -> None:
    from checks.weights import pickle_walk

    # numpy.load(allow_pickle=True) unpickles everything after the header.
    view = source.view()
    if view is None and source.size - offset > ctx.limits.max_member_bytes:
        raise LimitExceeded(f"object array payload of {source.size - offset} bytes")
    data = view if view is not None else source.read_at(offset, source.size - offset)
    pickle_walk.scan_pickle_bytes(data, ctx, start=offset if view is not None else 0)


def _size_mismatch(
    source: ByteSource, header: NpyHeader, expected: int, actual: int, ctx: ScanContext
) -> None:
    what = "truncated" if actual < expected else "followed by extra bytes"
    ctx.report(
        "numpy-size-mismatch",
        Severity.MEDIUM,
        f"the array data is {what}: the header promises {expected} bytes, the file holds {actual}",
    )
    if actual <= expected:
        return
    tail_at = header.data_offset + expected
    head = source.read_at(tail_at, HEAD_BYTES)
    if sniff_bytes(head, actual - expected, "") in CODE_CAPABLE:
        # A payload parked after the array: some loader may read it; fail closed.
        tail = SliceSource(source, tail_at, actual - expected)
        tctx = ctx.nested("trailing data")
        if tctx.scan_nested is not None:
            tctx.scan_nested(tail, tctx)
        else:
            not_scanned(tctx)
