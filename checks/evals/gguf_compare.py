"""GGUF tensors against a safetensors base: read by offset, dequantised with llama.cpp's gguf-py."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import gguf
import numpy as np
import numpy.typing as npt
from gguf import GGMLQuantizationType, quants

from checks.evals.files import READ_ERRORS
from checks.evals.safetensors_reader import to_float32
from checks.evals.weightset import WeightSet
from checks.io.source import ByteSource
from checks.weights.gguf import Layout, TensorLayout

F32 = npt.NDArray[np.float32]
# One tensor is held as float32 with its base twin and a re-quantised copy: 64 Mi values keep
# that near 1 GiB; bigger tensors are noted, not read.
MAX_TENSOR_ELEMENTS = 1 << 26
_ARCHS = {name: arch for arch, name in gguf.MODEL_ARCH_NAMES.items()}
# llama.cpp's converter reorders the rows of Llama-style q/k projections for its RoPE layout.
_ROPE_PERMUTED = ("attn_q.weight", "attn_k.weight")


@dataclass(frozen=True)
class GGUFDelta:
    name: str  # the GGUF tensor
    base: str  # the base tensor it stands for
    type_name: str  # Q8_0, Q4_K, F16, ...
    rel_l2: float | None  # None: the base is zero or not finite
    noise: float | None  # relative L2 of the base re-quantised to this type; None: no quantiser
    nan: int = 0
    inf: int = 0
    is_matrix: bool = True

    @property
    def within_noise(self) -> bool:
        return (
            self.rel_l2 is not None
            and self.noise is not None
            and (self.rel_l2 <= NOISE_RATIO * self.noise or self.rel_l2 == 0.0)
        )


# A faithful conversion lands at about 1× the re-quantisation noise (the same rounding); the
# converter's imatrix or rounding choices may cost a little more.
NOISE_RATIO = 2.0


@dataclass
class GGUFComparison:
    deltas: list[GGUFDelta] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)  # GGUF tensors with no base tensor
    uncovered: list[str] = field(default_factory=list)  # base tensors the GGUF lacks
    skipped: dict[str, str] = field(default_factory=dict)  # GGUF tensor -> why not compared
    nonfinite: dict[str, tuple[int, int]] = field(default_factory=dict)  # GGUF name -> counts
    bytes_read: int = 0


def name_map(layout: Layout, base: WeightSet) -> dict[str, str]:
    """GGUF name -> base name, by gguf-py's own table for the file's architecture."""
    arch = layout.metadata.get("general.architecture")
    if not isinstance(arch, str) or arch not in _ARCHS:
        return {}
    blocks = layout.metadata.get(f"{arch}.block_count")
    tmap = gguf.get_tensor_name_map(_ARCHS[arch], blocks if isinstance(blocks, int) else 0)
    out: dict[str, str] = {}
    for name in sorted(base.where):
        mapped = tmap.get_name(name, try_suffixes=(".weight", ".bias"))
        if mapped is not None:
            out.setdefault(mapped, name)
    return out


def compare_gguf(source: ByteSource, layout: Layout, base: WeightSet) -> GGUFComparison:
    """Each mapped tensor dequantised and measured against its base twin, one at a time."""
    out = GGUFComparison()
    names = name_map(layout, base)
    heads = _heads(layout)
    for t in layout.tensors:
        twin = names.get(t.name)
        if twin is None:
            out.unmapped.append(t.name)
            continue
        why = _unreadable(t)
        if why is not None:
            out.skipped[t.name] = why
            continue
        try:
            values = _values(source, t)
        except READ_ERRORS as exc:
            out.skipped[t.name] = f"read failed ({exc})"
            continue
        except (NotImplementedError, ValueError) as exc:
            out.skipped[t.name] = f"cannot dequantise {_type_name(t)} ({exc})"
            continue
        assert t.nbytes is not None
        out.bytes_read += t.nbytes
        nan, inf = int(np.isnan(values).sum()), int(np.isinf(values).sum())
        if nan or inf:
            out.nonfinite[t.name] = (nan, inf)
            continue
        delta = _delta(t, values, base, twin, heads)
        if delta is None:
            out.skipped[t.name] = (
                f"shape {list(values.shape)} fits no layout of the base's "
                f"{list(base.info(twin).shape)}"
            )
        else:
            out.deltas.append(delta)
    out.uncovered = sorted(set(base.where) - set(names.values()) - _tied(names, layout, base))
    return out


def _tied(names: dict[str, str], layout: Layout, base: WeightSet) -> set[str]:
    """A head the converter left out because it is tied to the embedding is not missing."""
    present = {t.name for t in layout.tensors}
    return {b for g, b in names.items() if g == "output.weight" and g not in present}


def _type_name(t: TensorLayout) -> str:
    try:
        return GGMLQuantizationType(t.ggml_type).name
    except ValueError:
        return f"ggml type {t.ggml_type}"


def _unreadable(t: TensorLayout) -> str | None:
    if t.nbytes is None:
        return f"unknown {_type_name(t)}"
    if math.prod(t.dims) > MAX_TENSOR_ELEMENTS:
        return f"{math.prod(t.dims)} values, over the {MAX_TENSOR_ELEMENTS} read per tensor"
    return None


def _values(source: ByteSource, t: TensorLayout) -> F32:
    """One bounded read of the tensor's bytes, dequantised to float32 in the base's shape."""
    assert t.nbytes is not None
    qtype = GGMLQuantizationType(t.ggml_type)
    data = source.read_at(t.start, t.nbytes)
    if len(data) != t.nbytes:
        raise OSError(f"short read of {t.name}")
    rows = math.prod(t.dims[1:]) if len(t.dims) > 1 else 1
    raw = np.frombuffer(data, dtype=np.uint8).reshape(rows, -1)
    if qtype == GGMLQuantizationType.BF16:
        values = to_float32(raw.view("<u2"), "BF16")
    else:
        values = np.asarray(quants.dequantize(raw, qtype), dtype=np.float32)
    shape = tuple(reversed(t.dims))
    return values.reshape(shape)


def _heads(layout: Layout) -> tuple[int, int] | None:
    arch = layout.metadata.get("general.architecture")
    n = layout.metadata.get(f"{arch}.attention.head_count")
    kv = layout.metadata.get(f"{arch}.attention.head_count_kv", n)
    return (n, kv) if isinstance(n, int) and isinstance(kv, int) and n > 0 and kv > 0 else None


def _rope_permute(w: F32, heads: int) -> F32:
    """The converter's reordering: each head's rows from (pairs, 2) to (2, pairs)."""
    if w.ndim != 2 or w.shape[0] % (2 * heads):
        return w
    return w.reshape(heads, 2, w.shape[0] // heads // 2, w.shape[1]).swapaxes(1, 2).reshape(w.shape)


def _layouts(
    t: TensorLayout, b: F32, shape: tuple[int, ...], heads: tuple[int, int] | None
) -> list[F32]:
    """The base tensor as a converter may have stored it, in ``shape``: as is, transposed
    (Conv1D), or with q/k rows permuted for RoPE."""
    out = []
    if b.shape == shape:
        out.append(b)
        if heads is not None and t.name.endswith(_ROPE_PERMUTED):
            out.append(_rope_permute(b, heads[0] if t.name.endswith("attn_q.weight") else heads[1]))
    elif b.ndim == 2 and b.T.shape == shape:
        out.append(np.ascontiguousarray(b.T))
    return out


def _delta(
    t: TensorLayout, values: F32, base: WeightSet, twin: str, heads: tuple[int, int] | None
) -> GGUFDelta | None:
    info = base.info(twin)
    if not info.is_float:
        return None
    b = to_float32(base.file_of(twin).raw(info), info.dtype).reshape(info.shape)
    candidates = _layouts(t, b, tuple(values.shape), heads)
    if not candidates:
        return None
    bb = _sq(b)  # a reordering keeps the norm
    if not math.isfinite(bb):
        return None
    best: tuple[float, F32] | None = None
    for layout in candidates:
        dd = _sq(values - layout)
        rel = math.sqrt(dd / bb) if bb > 0 else (0.0 if dd == 0 else math.inf)
        if best is None or rel < best[0]:
            best = (rel, layout)
    assert best is not None
    rel, chosen = best
    return GGUFDelta(
        t.name,
        twin,
        _type_name(t),
        rel if math.isfinite(rel) else None,
        _noise(chosen, t.ggml_type),
        is_matrix=chosen.ndim >= 2,
    )


# Rows the rounding-noise reference re-quantises: a strided sample of about this many values
# estimates the noise to a few percent at a small part of the cost of the whole tensor.
NOISE_SAMPLE = 1 << 16


def _noise(b: F32, ggml_type: int) -> float | None:
    """How far the base moves when quantised to this type itself: what a faithful copy shows."""
    qtype = GGMLQuantizationType(ggml_type)
    if qtype == GGMLQuantizationType.F32:
        return 0.0
    flat = b.reshape(-1, b.shape[-1]) if b.ndim else b.reshape(1, 1)
    step = max(1, flat.size // NOISE_SAMPLE)  # every step-th row: about NOISE_SAMPLE values
    flat = np.ascontiguousarray(flat[::step])
    try:
        back = quants.dequantize(quants.quantize(flat, qtype), qtype)
    except (NotImplementedError, ValueError, quants.QuantError):
        return None  # gguf-py dequantises the k-quants but cannot make them
    bb = _sq(flat)
    return math.sqrt(_sq(np.asarray(back, np.float32) - flat) / bb) if bb > 0 else None


def _sq(x: npt.NDArray[Any]) -> float:
    """Sum of squares: float32 BLAS, float64 again only when huge values overflowed it."""
    flat = x.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(np.dot(flat, flat))
        if math.isinf(total):
            wide = flat.astype(np.float64)
            total = float(np.dot(wide, wide))
    return total
