"""One pass over every tensor: NaN/Inf counts and, with a base, the relative L2 delta."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from checks.evals.safetensors_reader import (
    CHUNK_ELEMENTS,
    SafetensorsFile,
    TensorInfo,
    to_float32,
)
from checks.evals.weightset import WeightSet

FINGERPRINT_SAMPLES = 64
SHUFFLE_MIN_REL = 0.5  # a permutation of zero-mean weights moves them by about sqrt(2)
SHUFFLE_NORM_TOL = 1e-4


@dataclass
class Delta:
    """A contribution tensor against the base tensor of the same name."""

    name: str
    rel_l2: float | None  # None: not a float tensor, or the base is all zero or not finite
    identical: bool
    base_finite: bool = True
    rows_compared: int | None = None  # set when the row counts differ (vocab changes)


@dataclass
class Analysis:
    nonfinite: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (nan, inf)
    deltas: dict[str, Delta] = field(default_factory=dict)
    copied: dict[str, str] = field(default_factory=dict)  # contribution name -> base name
    shuffled: list[str] = field(default_factory=list)
    bytes_read: int = 0


def _decode(raw: npt.NDArray[Any], dtype: str) -> npt.NDArray[np.floating[Any]]:
    return raw if dtype == "F64" else to_float32(raw, dtype)


def _sq(x: npt.NDArray[np.floating[Any]]) -> float:
    """Sum of squares; float32 BLAS first, float64 again only when huge values overflowed it."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(np.dot(x, x))
        if math.isinf(total):
            wide = x.astype(np.float64)
            total = float(np.dot(wide, wide))
    return total


def _total_sq(f: SafetensorsFile, info: TensorInfo) -> float:
    raw = f.raw(info)
    return sum(_sq(_decode(raw[i:j], info.dtype)) for i, j in f.float_chunks(info))


def _count_nonfinite(f: SafetensorsFile, info: TensorInfo) -> tuple[int, int]:
    nan = inf = 0
    raw = f.raw(info)
    for i, j in f.float_chunks(info):
        x = _decode(raw[i:j], info.dtype)
        nan += int(np.count_nonzero(np.isnan(x)))
        inf += int(np.count_nonzero(np.isinf(x)))
    return nan, inf


def _overlap_rows(c: TensorInfo, b: TensorInfo) -> int | None:
    """Rows both share when only the first dimension differs (an embedding grown or cut)."""
    if c.shape == b.shape:
        return None
    if len(c.shape) == len(b.shape) >= 1 and c.shape[1:] == b.shape[1:]:
        return min(c.shape[0], b.shape[0])
    return -1


def analyse(contrib: WeightSet, base: WeightSet | None) -> Analysis:
    """Reads each contribution tensor once (and its base twin once), chunk by chunk."""
    out = Analysis()
    for name in sorted(contrib.where):
        cf, ci = contrib.file_of(name), contrib.info(name)
        twin = base.info(name) if base is not None and name in base.where else None
        if twin is not None and base is not None and twin.is_float == ci.is_float:
            rows = _overlap_rows(ci, twin)
            if rows != -1:
                _compare(out, name, cf, ci, base.file_of(name), twin, rows)
                continue
        if ci.is_float:
            _compare(out, name, cf, ci, None, None, None)
    if base is not None:
        _find_copies(out, contrib, base)
    return out


def _compare(
    out: Analysis,
    name: str,
    cf: SafetensorsFile,
    ci: TensorInfo,
    bf: SafetensorsFile | None,
    bi: TensorInfo | None,
    rows: int | None,
) -> None:
    craw = cf.raw(ci)
    out.bytes_read += ci.nbytes
    if not ci.is_float:  # integer buffers (position ids): equal or not, no norm
        assert bf is not None and bi is not None
        same = ci.shape == bi.shape and np.array_equal(craw, bf.raw(bi))
        out.bytes_read += bi.nbytes
        out.deltas[name] = Delta(name, None, identical=bool(same))
        return
    braw = bf.raw(bi) if bf is not None and bi is not None else None
    limit = ci.numel if rows is None else rows * (ci.numel // max(ci.shape[0], 1))
    cc = bb = dd = 0.0
    scratch: npt.NDArray[np.floating[Any]] = np.empty(
        CHUNK_ELEMENTS, dtype=np.float64 if ci.dtype == "F64" else np.float32
    )
    for i, j in cf.float_chunks(ci):
        c = _decode(craw[i:j], ci.dtype)
        k = min(j, limit) if braw is not None and bi is not None and i < limit else i
        if k > i and braw is not None and bi is not None:
            b = _decode(braw[i:k], bi.dtype)
            bb += _sq(b)  # while b is in cache: the subtraction below reads it again
            d = scratch[: k - i]
            with np.errstate(over="ignore", invalid="ignore"):
                np.subtract(c[: k - i], b, out=d, casting="unsafe")
            dd += _sq(d)  # NaN or Inf in c shows up here, so c's own norm is not needed
            out.bytes_read += (k - i) * (bi.nbytes // max(bi.numel, 1))
        if k < j:
            cc += _sq(c[k - i :])
    if not (math.isfinite(cc) and math.isfinite(dd)):
        nan, inf = _count_nonfinite(cf, ci)
        if nan or inf:
            out.nonfinite[name] = (nan, inf)
    if braw is None:
        return
    if not math.isfinite(bb):  # a broken base says nothing about the contribution
        out.deltas[name] = Delta(name, None, identical=False, base_finite=False)
        return
    identical = dd == 0.0 and rows is None and ci.dtype == (bi.dtype if bi else None)
    rel = math.sqrt(dd / bb) if bb > 0 and math.isfinite(dd) else None
    if bb == 0 and dd == 0:
        rel = 0.0
    out.deltas[name] = Delta(name, rel, identical=identical, rows_compared=rows)
    if (
        rel is not None
        and rel > SHUFFLE_MIN_REL
        and bi is not None
        and rows is None
        and ci.dtype == bi.dtype
        and abs(math.sqrt(_total_sq(cf, ci)) - math.sqrt(bb)) <= SHUFFLE_NORM_TOL * math.sqrt(bb)
        and np.array_equal(np.sort(craw), np.sort(braw))
    ):
        out.shuffled.append(name)


def _fingerprint(raw: npt.NDArray[Any]) -> bytes | None:
    """Strided sample of the stored bits; None for (sampled) constant tensors, which collide."""
    if raw.size == 0:
        return None
    step = max(raw.size // FINGERPRINT_SAMPLES, 1)
    sample = np.ascontiguousarray(raw[::step][:FINGERPRINT_SAMPLES])
    if np.all(sample == sample[0]):
        return None
    return sample.tobytes()


def _find_copies(out: Analysis, contrib: WeightSet, base: WeightSet) -> None:
    """A changed tensor that equals a *different* base tensor was swapped or copied in."""
    changed = [
        n
        for n, d in out.deltas.items()
        if not d.identical and d.rel_l2 != 0.0 and n not in out.shuffled
    ]
    if not changed:
        return
    wanted = {(contrib.info(n).shape, contrib.info(n).dtype) for n in changed}
    index: dict[tuple[tuple[int, ...], str, bytes], list[str]] = {}
    for name in base.where:
        info = base.info(name)
        if (info.shape, info.dtype) in wanted:
            fp = _fingerprint(base.file_of(name).raw(info))
            if fp is not None:
                index.setdefault((info.shape, info.dtype, fp), []).append(name)
    for name in changed:
        info = contrib.info(name)
        craw = contrib.file_of(name).raw(info)
        fp = _fingerprint(craw)
        if fp is None:
            continue
        for other in index.get((info.shape, info.dtype, fp), []):
            if other != name and np.array_equal(craw, base.file_of(other).raw(base.info(other))):
                out.copied[name] = other
                break
