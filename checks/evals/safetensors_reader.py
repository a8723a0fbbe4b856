"""Reads a safetensors file through a byte source: its header, and tensors decoded bit-exactly."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from checks.io.source import ByteSource
from checks.weights.safetensors_header import HeaderError, parse_header_json

MAX_HEADER_BYTES = 100 << 20
# 256 Ki elements (1 MiB of float32) per step: memory stays flat on any tensor size, and each
# chunk is still in cache when the delta reads it a second and third time.
CHUNK_ELEMENTS = 1 << 18

# How each dtype is stored; BF16 and FP8 are kept as raw bits and decoded by hand.
_STORAGE: dict[str, np.dtype[Any]] = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "F8_E4M3": np.dtype("u1"),
    "F8_E5M2": np.dtype("u1"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"),
    "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
FLOAT_DTYPES = frozenset({"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"})

F32Array = npt.NDArray[np.float32]


class ReadError(ValueError):
    """The file is not a safetensors file this reader can map."""


def _fp8_table(exp_bits: int, man_bits: int, *, fn: bool) -> F32Array:
    """All 256 values of an FP8 format; ``fn`` formats have no Inf and one NaN per sign."""
    bias = (1 << (exp_bits - 1)) - 1
    table = np.empty(256, dtype=np.float32)
    top = (1 << exp_bits) - 1
    for bits in range(256):
        sign = -1.0 if bits & 0x80 else 1.0
        exp = (bits >> man_bits) & top
        man = bits & ((1 << man_bits) - 1)
        if fn and exp == top and man == (1 << man_bits) - 1:
            value = float("nan")
        elif not fn and exp == top:
            value = float("inf") if man == 0 else float("nan")
        elif exp == 0:
            value = man / (1 << man_bits) * 2.0 ** (1 - bias)
        else:
            value = (1 + man / (1 << man_bits)) * 2.0 ** (exp - bias)
        table[bits] = sign * value
    return table


_FP8 = {
    "F8_E4M3": _fp8_table(4, 3, fn=True),
    "F8_E5M2": _fp8_table(5, 2, fn=False),
}
FP8_VALUES: dict[str, F32Array] = _FP8  # each format's 256 values, by safetensors dtype


def to_float32(raw: npt.NDArray[Any], dtype: str) -> F32Array:
    """Decode stored values to float32 exactly (every BF16/FP16/FP8 value fits in float32)."""
    if dtype == "BF16":
        return (raw.astype(np.uint32) << 16).view(np.float32)
    if dtype in _FP8:
        decoded: F32Array = _FP8[dtype][raw]
        return decoded
    return raw.astype(np.float32, copy=False)


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple[int, ...]
    start: int  # absolute byte offsets in the file
    end: int

    @property
    def numel(self) -> int:
        n = 1
        for dim in self.shape:
            n *= dim
        return n

    @property
    def nbytes(self) -> int:
        return self.end - self.start

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOAT_DTYPES


def storage(dtype: str) -> np.dtype[Any]:
    """The numpy dtype a safetensors dtype is stored as (BF16 and FP8 as raw bits)."""
    return _STORAGE[dtype]


class SafetensorsFile:
    """One file: its tensor table from the header; values through the source it was read from.

    The caller owns ``source`` and closes it; ``checks.evals.stream`` streams the tensor data.
    """

    def __init__(self, source: ByteSource) -> None:
        self.source = source
        self.size = source.size
        self.tensors, self.metadata, self.header_bytes = _read_header(source, self.size)
        self.streamed = 0  # tensor bytes taken through checks.evals.stream (a map's reads too)

    def raw(self, info: TensorInfo) -> npt.NDArray[Any]:
        """The stored values, flat: a view on a memory map when the source has one (the local
        base), else one read of the whole tensor, so only for tensors known to be small."""
        dtype = _STORAGE[info.dtype]
        if info.numel == 0:
            return np.empty(0, dtype=dtype)
        view = self.source.view()
        if view is not None:
            return np.frombuffer(view, dtype=dtype, count=info.numel, offset=info.start)
        return np.frombuffer(self.source.read_at(info.start, info.nbytes), dtype=dtype)


def element_ranges(info: TensorInfo) -> list[tuple[int, int]]:
    """Element ranges of CHUNK_ELEMENTS: the unit every sum is taken over, so results do not
    depend on how the bytes arrived."""
    total = info.numel
    return [(i, min(i + CHUNK_ELEMENTS, total)) for i in range(0, total, CHUNK_ELEMENTS)]


def _read_header(
    source: ByteSource, size: int
) -> tuple[dict[str, TensorInfo], dict[str, str], int]:
    prefix = source.read_at(0, 8)
    if len(prefix) < 8:
        raise ReadError("shorter than the 8-byte header length")
    (length,) = struct.unpack("<Q", prefix)
    if length > MAX_HEADER_BYTES or 8 + length > size:
        raise ReadError(f"header length {length} does not fit the file ({size} bytes)")
    raw = source.read_at(8, length)
    if len(raw) != length:
        raise ReadError("the header could not be read in full")
    try:
        header = parse_header_json(raw)
    except HeaderError as exc:
        raise ReadError(f"header: {exc}") from None
    base = 8 + length
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise ReadError("__metadata__ is not an object")
    tensors: dict[str, TensorInfo] = {}
    for name, entry in header.items():
        tensors[name] = _entry(name, entry, base, size)
    return tensors, {str(k): str(v) for k, v in metadata.items()}, base


def _entry(name: str, entry: Any, base: int, size: int) -> TensorInfo:
    try:
        dtype = str(entry["dtype"])
        shape = tuple(int(d) for d in entry["shape"])
        begin, end = (int(o) for o in entry["data_offsets"])
    except (KeyError, TypeError, ValueError):
        raise ReadError(f"tensor {name!r}: malformed header entry") from None
    if dtype not in _STORAGE:
        raise ReadError(f"tensor {name!r}: dtype {dtype} is not supported")
    info = TensorInfo(name, dtype, shape, base + begin, base + end)
    if any(d < 0 for d in shape) or not 0 <= begin <= end or info.end > size:
        raise ReadError(f"tensor {name!r}: offsets {begin}..{end} fall outside the file")
    if info.numel * _STORAGE[dtype].itemsize != info.nbytes:
        raise ReadError(f"tensor {name!r}: {dtype}{list(shape)} does not take {info.nbytes} bytes")
    return info
