"""One streamed pass over every tensor: NaN/Inf counts and, with a base, the relative L2 delta."""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

import numpy as np
import numpy.typing as npt

from checks.evals.analysis import FINGERPRINT_SAMPLES, Analysis, Delta, fingerprint
from checks.evals.confirm import confirm
from checks.evals.files import READ_ERRORS
from checks.evals.plan import Job, Plan, plan_reads
from checks.evals.safetensors_reader import CHUNK_ELEMENTS, SafetensorsFile, to_float32
from checks.evals.stream import Values, tensor_values
from checks.evals.weightset import WeightSet

SHUFFLE_MIN_REL = 0.5  # a permutation of zero-mean weights moves them by about sqrt(2)
SHUFFLE_NORM_TOL = 1e-4


def analyse(
    contrib: WeightSet,
    base: WeightSet | None,
    plan: Plan | None = None,
    *,
    nonzero: Collection[str] = (),
    budget: int | None = None,
) -> Analysis:
    """Reads each planned contribution tensor once, in file order (and its base twin alongside);
    then confirms swapped and shuffled tensors, within ``budget`` bytes in all."""
    plan = plan or plan_reads(contrib, base)
    out = Analysis()
    for rel, jobs in sorted(plan.jobs.items()):
        try:
            _stream_file(out, contrib.files[rel], jobs, base, nonzero)
        except READ_ERRORS as exc:
            out.failed[rel] = str(exc) or type(exc).__name__
    if base is not None:
        left = None if budget is None else budget - plan.bytes
        confirm(out, contrib, base, left)
    out.deltas = dict(sorted(out.deltas.items()))
    return out


def _stream_file(
    out: Analysis,
    f: SafetensorsFile,
    jobs: list[Job],
    base: WeightSet | None,
    nonzero: Collection[str],
) -> None:
    by_name = {job.info.name: job for job in jobs}
    for job in jobs:
        if not job.needs_data:
            out.deltas[job.info.name] = Delta(job.info.name, None, identical=False)
    wanted = [job.info for job in jobs if job.needs_data]
    for info, values in tensor_values(f, wanted):
        job = by_name[info.name]
        twin = base.file_of(info.name) if base is not None and job.twin is not None else None
        if info.is_float:
            _compare(out, job, values, twin, want_nonzero=info.name in nonzero)
        else:
            _compare_exact(out, job, values, twin)


def _decode(raw: npt.NDArray[Any], dtype: str) -> npt.NDArray[np.floating[Any]]:
    return raw if dtype == "F64" else to_float32(raw, dtype)


def round_to(x: npt.NDArray[np.floating[Any]], dtype: str) -> npt.NDArray[np.floating[Any]]:
    """``x`` rounded to ``dtype`` (nearest, ties to even, as torch's ``.to()``), as float32."""
    if dtype == "F16":
        with np.errstate(over="ignore"):
            return x.astype(np.float16).astype(np.float32)
    if dtype == "BF16":
        bits = x.astype(np.float32).view(np.uint32)
        bits = (bits + (((bits >> 16) & 1) + 0x7FFF)) & np.uint32(0xFFFF0000)
        return bits.view(np.float32)
    if dtype == "F32":
        return x.astype(np.float32)
    return x


def _sq(x: npt.NDArray[np.floating[Any]]) -> float:
    """Sum of squares; float32 BLAS first, float64 again only when huge values overflowed it."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(np.dot(x, x))
        if math.isinf(total):
            wide = x.astype(np.float64)
            total = float(np.dot(wide, wide))
    return total


class Sampler:
    """The stored values at FINGERPRINT_SAMPLES evenly strided positions, gathered as the
    values stream past (the same positions as ``raw[::step][:FINGERPRINT_SAMPLES]``)."""

    def __init__(self, numel: int) -> None:
        self.numel = numel
        self.step = max(numel // FINGERPRINT_SAMPLES, 1)
        self._stop = FINGERPRINT_SAMPLES * self.step
        self._parts: list[npt.NDArray[Any]] = []

    def add(self, i: int, raw: npt.NDArray[Any]) -> None:
        first = -(-i // self.step) * self.step
        stop = min(i + len(raw), self._stop)
        if first < stop:
            # A copy: a view would keep the whole streamed chunk alive.
            self._parts.append(raw[first - i : stop - i : self.step].copy())

    def fingerprint(self) -> bytes | None:
        return fingerprint(np.concatenate(self._parts)) if self._parts else None


def _compare_exact(out: Analysis, job: Job, values: Values, bf: SafetensorsFile | None) -> None:
    """Integer buffers (position ids): equal or not, no norm."""
    assert bf is not None and job.twin is not None  # planned only with a twin of its shape
    name, braw = job.info.name, bf.raw(job.twin)
    sampler = Sampler(job.info.numel)
    same = True
    for i, raw in values:
        sampler.add(i, raw)
        same = same and np.array_equal(raw, braw[i : i + len(raw)])
    out.deltas[name] = Delta(name, None, identical=bool(same))
    out.fingerprints[name] = sampler.fingerprint()


def _compare(
    out: Analysis, job: Job, values: Values, bf: SafetensorsFile | None, *, want_nonzero: bool
) -> None:
    ci, bi, rows = job.info, job.twin, job.rows
    name = ci.name
    braw = bf.raw(bi) if bf is not None and bi is not None else None
    limit = ci.numel if rows is None else rows * (ci.numel // max(ci.shape[0], 1))
    # A permutation keeps the norm: that test needs the contribution's own, over every chunk.
    whole = braw is not None and bi is not None and rows is None and ci.dtype == bi.dtype
    # Sampled with or without a base: a restructured model is matched to the base by these.
    sampler = Sampler(ci.numel)
    cc = bb = dd = own = 0.0
    nan = inf = 0
    moved = False
    # A dtype-only re-upload: the base rounded to this dtype, value for value.
    cast = braw is not None and bi is not None and rows is None and ci.dtype != bi.dtype
    scratch: npt.NDArray[np.floating[Any]] = np.empty(
        CHUNK_ELEMENTS, dtype=np.float64 if ci.dtype == "F64" else np.float32
    )
    for i, raw in values:
        j = i + len(raw)
        sampler.add(i, raw)
        c = _decode(raw, ci.dtype)
        k = min(j, limit) if braw is not None and bi is not None and i < limit else i
        finite = True
        if k > i and braw is not None and bi is not None:
            b = _decode(braw[i:k], bi.dtype)
            bb += _sq(b)  # while b is in cache: the subtraction below reads it again
            d = scratch[: k - i]
            with np.errstate(over="ignore", invalid="ignore"):
                np.subtract(c[: k - i], b, out=d, casting="unsafe")
            part = _sq(d)  # NaN or Inf in c shows up here, so c's own norm is not needed
            if cast:
                cast = bool(np.array_equal(c[: k - i], round_to(b, ci.dtype), equal_nan=True))
            dd += part
            finite = math.isfinite(part)
        if k < j:
            part = _sq(c[k - i :])
            cc += part
            finite = finite and math.isfinite(part)
        if whole:
            own += _sq(c)
        if not finite:  # only chunks that hold NaN or Inf pay for counting them
            nan += int(np.count_nonzero(np.isnan(c)))
            inf += int(np.count_nonzero(np.isinf(c)))
        if want_nonzero and not moved:
            moved = bool(np.any(c != 0))
    if nan or inf:
        out.nonfinite[name] = (nan, inf)
    if moved:
        out.nonzero.add(name)
    out.fingerprints[name] = sampler.fingerprint()
    if braw is None or bi is None:
        return
    if not math.isfinite(bb):  # a broken base says nothing about the contribution
        out.deltas[name] = Delta(name, None, identical=False, base_finite=False)
        return
    identical = dd == 0.0 and rows is None and ci.dtype == bi.dtype
    rel = math.sqrt(dd / bb) if bb > 0 and math.isfinite(dd) else None
    if bb == 0 and dd == 0:
        rel = 0.0
    out.deltas[name] = Delta(
        name, rel, identical=identical, rows_compared=rows, cast=cast and not identical
    )
    if (
        whole
        and rel is not None
        and rel > SHUFFLE_MIN_REL
        and abs(math.sqrt(own) - math.sqrt(bb)) <= SHUFFLE_NORM_TOL * math.sqrt(bb)
    ):
        out.suspects.append(name)
