"""Dequantises one module's codes to a dense float32 weight [out, in], with numpy only.

Each decoder also gives the width of the rounding cell of every value (for integer codes the
scale, for FP8 and codebooks the gap between neighbouring levels): the quantisation noise a
faithful copy of the base would show, which the delta is measured against.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from checks.evals.quant import QuantModule
from checks.evals.safetensors_reader import FP8_VALUES as _FP8

F32 = npt.NDArray[np.float32]
Read = Callable[[str], npt.NDArray[Any]]  # role -> stored values (floats decoded to float32)
AWQ_ORDER = (0, 2, 4, 6, 1, 3, 5, 7)  # where AutoAWQ puts the i-th nibble of a packed int32


class DequantError(ValueError):
    """The tensors do not fit the layout their names claim."""


def _cells(levels: F32) -> F32:
    """Rounding-cell width of each level of a codebook (nearest rounding): half the distance
    from its lower to its upper neighbour; the ends take their one gap."""
    order = np.argsort(levels, kind="stable")
    sorted_levels = levels[order].astype(np.float64)
    finite = np.isfinite(sorted_levels)
    width = np.zeros(len(levels), dtype=np.float64)
    vals = sorted_levels[finite]
    if len(vals) > 1:
        gaps = np.diff(vals)
        w = np.empty(len(vals))
        w[1:-1] = (gaps[:-1] + gaps[1:]) / 2
        w[0], w[-1] = gaps[0], gaps[-1]
        width[np.flatnonzero(finite)] = w
    out = np.empty(len(levels), dtype=np.float32)
    out[order] = width
    return out


_FP8_CELLS = {name: _cells(table) for name, table in _FP8.items()}


def _expand(scale: F32, shape: tuple[int, int]) -> F32:
    """A scale per tensor, row, group or block, repeated to the weight's shape."""
    out, cols = shape
    s = scale.reshape(1, 1) if scale.size == 1 else scale
    if s.ndim == 1:
        s = s.reshape(-1, 1) if s.size == out else s.reshape(1, -1)
    if s.ndim != 2 or s.shape[0] == 0 or s.shape[1] == 0:
        raise DequantError(f"scale of shape {list(scale.shape)} for a {list(shape)} weight")
    r0, r1 = -(-out // s.shape[0]), -(-cols // s.shape[1])
    if s.shape[0] * r0 - out >= r0 or s.shape[1] * r1 - cols >= r1:
        raise DequantError(f"scale of shape {list(scale.shape)} for a {list(shape)} weight")
    full: F32 = np.repeat(np.repeat(s, r0, axis=0), r1, axis=1)[:out, :cols]
    return full


def _unpack(packed: npt.NDArray[Any], bits: int, axis: int) -> npt.NDArray[np.int64]:
    """Little-end-first codes of ``bits`` each from int32 words, spread along ``axis``."""
    if bits not in (2, 4, 8):
        raise DequantError(f"{bits}-bit packing is not supported")
    per = 32 // bits
    words = packed.astype(np.int64) & 0xFFFFFFFF
    shifts = np.arange(per, dtype=np.int64) * bits
    if axis == 0:
        vals = (words[:, None, :] >> shifts[None, :, None]) & ((1 << bits) - 1)
        return vals.reshape(-1, packed.shape[1])
    vals = (words[:, :, None] >> shifts[None, None, :]) & ((1 << bits) - 1)
    return vals.reshape(packed.shape[0], -1)


def fp8(module: QuantModule, read: Read, dtype: str) -> tuple[F32, F32]:
    codes = read("codes")
    if codes.ndim != 2:
        raise DequantError(f"FP8 codes of shape {list(codes.shape)} are not a matrix")
    shape = (codes.shape[0], codes.shape[1])
    scale = _expand(read("scales").astype(np.float32), shape)
    return _FP8[dtype][codes] * scale, _FP8_CELLS[dtype][codes] * np.abs(scale)


def ct_int(module: QuantModule, read: Read) -> tuple[F32, F32]:
    codes = read("codes").astype(np.float32)
    shape = (codes.shape[0], codes.shape[1])
    scale = _expand(read("scales").astype(np.float32), shape)
    if "zeros" in module.tensors:
        codes = codes - _expand(read("zeros").astype(np.float32), shape)
    return codes * scale, np.abs(scale)


def ct_pack(module: QuantModule, read: Read) -> tuple[F32, F32]:
    """compressed-tensors pack-quantized: codes + 2^(bits-1) packed along the input axis."""
    packed = read("codes")
    scales = read("scales").astype(np.float32)
    if "shape" in module.tensors:
        rows, cols = (int(d) for d in read("shape"))
    else:
        rows, cols = packed.shape[0], scales.shape[-1]
    if packed.shape[1] * 32 % cols:
        raise DequantError(f"{list(packed.shape)} packed words cannot hold {cols} columns")
    bits = packed.shape[1] * 32 // cols
    q = _unpack(packed, bits, axis=1)[:, :cols] - (1 << (bits - 1))
    scale = _expand(scales, (rows, cols))
    values = q.astype(np.float32)
    if "zeros" in module.tensors:
        zp = _unpack(read("zeros"), bits, axis=0)[: scales.shape[0]] - (1 << (bits - 1))
        values = values - _expand(zp.astype(np.float32), (rows, cols))
    return values * scale, np.abs(scale)


def gptq(module: QuantModule, read: Read) -> tuple[F32, F32]:
    """AutoGPTQ / GPTQModel: qweight [in*bits/32, out], qzeros [groups, out*bits/32],
    scales [groups, out], g_idx [in]: w[k, n] = scale[g[k], n] * (q[k, n] - zero[g[k], n])."""
    bits = int(module.params["bits"])
    q = _unpack(read("codes"), bits, axis=0)
    scales = read("scales").astype(np.float32)
    zeros = _unpack(read("zeros"), bits, axis=1)[:, : scales.shape[1]]
    zeros = zeros + int(module.params.get("zero_offset", 1))
    inputs = q.shape[0]
    if "g_idx" in module.tensors:
        g = read("g_idx").astype(np.int64)
    else:
        size = module.params.get("group_size")
        size = inputs if not isinstance(size, int) or size <= 0 else size
        g = np.arange(inputs) // size
    if g.shape != (inputs,) or g.min(initial=0) < 0 or g.max(initial=0) >= scales.shape[0]:
        raise DequantError("g_idx does not index the scales")
    scale = scales[g]
    w = (q - zeros[g]).astype(np.float32) * scale
    return np.ascontiguousarray(w.T), np.ascontiguousarray(np.abs(scale).T)


def awq(module: QuantModule, read: Read) -> tuple[F32, F32]:
    """AutoAWQ GEMM: qweight [in, out/8] and qzeros [groups, out/8] in AWQ's nibble order,
    scales [groups, out]: w[k, n] = (q[k, n] - zero[k // group, n]) * scale[k // group, n]."""
    bits = int(module.params["bits"])
    if bits != 4:
        raise DequantError(f"{bits}-bit AWQ is not supported")
    order = np.argsort(AWQ_ORDER)

    def unpack(packed: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
        vals = _unpack(packed, 4, axis=1).reshape(packed.shape[0], -1, 8)
        return vals[:, :, order].reshape(packed.shape[0], -1)

    q, zeros = unpack(read("codes")), unpack(read("zeros"))
    scales = read("scales").astype(np.float32)
    size = -(-q.shape[0] // scales.shape[0])
    g = np.arange(q.shape[0]) // size
    scale = scales[g]
    w = (q - zeros[g]).astype(np.float32) * scale
    return np.ascontiguousarray(w.T), np.ascontiguousarray(np.abs(scale).T)


def bnb_int8(module: QuantModule, read: Read) -> tuple[F32, F32]:
    """LLM.int8(): int8 rows with their absmax in SCB; w = code * SCB / 127."""
    codes = read("codes").astype(np.float32)
    scale = (read("scales").astype(np.float32) / 127.0).reshape(-1, 1)
    if scale.shape[0] != codes.shape[0]:
        raise DequantError("SCB does not have one value per row")
    return codes * scale, np.broadcast_to(np.abs(scale), codes.shape)


def bnb_4bit(module: QuantModule, read: Read) -> tuple[F32, F32]:
    """NF4/FP4: two codes per byte (first in the high nibble), a codebook, and an absmax per
    block, itself 8-bit quantised per 256 blocks plus an offset when double-quantised."""
    try:
        state = json.loads(bytes(read("state").astype(np.uint8)).decode("utf-8"))
        shape = tuple(int(d) for d in state["shape"])
        block = int(state["blocksize"])
    except (ValueError, KeyError, TypeError) as exc:
        raise DequantError(f"unreadable quant_state ({exc})") from None
    if len(shape) != 2 or block <= 0:
        raise DequantError(f"quant_state shape {list(shape)}, blocksize {block}")
    packed = read("codes").reshape(-1).astype(np.uint8)
    codes = np.stack([packed >> 4, packed & 0x0F], axis=1).reshape(-1)
    n = shape[0] * shape[1]
    if codes.size < n:
        raise DequantError(f"{codes.size} codes for a {list(shape)} weight")
    codes = codes[:n]
    codebook = read("quant_map").astype(np.float32).reshape(-1)
    absmax = read("absmax")
    if "nested_absmax" in module.tensors:
        nested = read("nested_absmax").astype(np.float32).reshape(-1)
        nested_map = read("nested_quant_map").astype(np.float32).reshape(-1)
        nblock = int(state.get("nested_blocksize", 256))
        idx = np.arange(absmax.size) // nblock
        absmax = nested_map[absmax.astype(np.int64)] * nested[np.minimum(idx, nested.size - 1)]
        absmax = absmax + float(state.get("nested_offset", 0.0))
    absmax = absmax.astype(np.float32).reshape(-1)
    blocks = np.arange(n) // block
    if codebook.size != 16 or blocks[-1] >= absmax.size:
        raise DequantError("the codebook or the absmax does not fit the weight")
    scale = absmax[blocks]
    values = (codebook[codes] * scale).reshape(shape)
    cells = (_cells(codebook)[codes] * np.abs(scale)).reshape(shape)
    return values, cells


def dequantise(module: QuantModule, read: Read, codes_dtype: str) -> tuple[F32, F32]:
    """(dense weight, rounding-cell widths), both [out, in] float32; raises DequantError."""
    decoders: dict[str, Callable[[QuantModule, Read], tuple[F32, F32]]] = {
        "ct-int": ct_int,
        "ct-pack": ct_pack,
        "gptq": gptq,
        "awq": awq,
        "bnb-int8": bnb_int8,
        "bnb-4bit": bnb_4bit,
    }
    try:
        if module.scheme == "fp8":
            return fp8(module, read, codes_dtype)
        return decoders[module.scheme](module, read)
    except (IndexError, ValueError) as exc:
        if isinstance(exc, DequantError):
            raise
        raise DequantError(str(exc)) from None


def describe(module: QuantModule, codes_dtype: str, bits: int | None = None) -> str:
    """What the layout is, for messages: "int4 GPTQ", "FP8 E4M3 with scales"."""
    bits = bits or module.params.get("bits")
    kind = module.tensors.get("state", "").rpartition("__")[2].upper() or "4-bit"
    return {
        "fp8": f"FP8 {codes_dtype.removeprefix('F8_')} with scales",
        "ct-int": "int8 with scales",
        "ct-pack": f"int{bits or ''} packed (compressed-tensors)",
        "gptq": f"int{bits} GPTQ",
        "awq": f"int{bits} AWQ",
        "bnb-int8": "int8 bitsandbytes",
        "bnb-4bit": f"{kind} bitsandbytes",
    }[module.scheme]
