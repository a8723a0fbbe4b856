"""Quantised modules against the base: dequantised, then measured against their own noise."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from checks.evals.dequant import DequantError, dequantise, describe
from checks.evals.files import READ_ERRORS
from checks.evals.quant import QuantModule
from checks.evals.safetensors_reader import to_float32
from checks.evals.weightset import WeightSet


@dataclass(frozen=True)
class QuantDelta:
    """One quantised module: its dense weight's distance to the base's, and the noise floor."""

    name: str  # the dense weight's name (the base tensor compared with)
    codes: str  # the stored tensor of codes
    label: str  # "int4 GPTQ", "FP8 E4M3 with scales"
    rel_l2: float | None = None  # None: no base twin of that shape, or not decodable
    # Relative L2 a faithful rounding of the base would show: RMS cell width / sqrt(12).
    noise: float | None = None
    nan: int = 0
    inf: int = 0
    error: str | None = None  # why it could not be dequantised
    shape: tuple[int, ...] | None = None  # of the dense weight

    @property
    def within_noise(self) -> bool:
        return (
            self.rel_l2 is not None
            and self.noise is not None
            and self.rel_l2 <= NOISE_RATIO * self.noise
        )


# A copy rounded to nearest lands at about 1× the noise; GPTQ's error feedback a little above.
NOISE_RATIO = 2.0


def _sq(x: npt.NDArray[np.float32]) -> float:
    """Sum of squares: float32 BLAS (a float64 copy per tensor cost most of the comparison),
    float64 again only when huge values overflowed it."""
    flat = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(np.dot(flat, flat))
        if math.isinf(total):
            wide = flat.astype(np.float64)
            total = float(np.dot(wide, wide))
    return total


def compare_quantised(
    ws: WeightSet, base: WeightSet | None, modules: Mapping[str, QuantModule]
) -> dict[str, QuantDelta]:
    """Each module dequantised whole (one module's float32 weight in memory at a time)."""
    out: dict[str, QuantDelta] = {}
    for name, module in sorted(modules.items()):
        out[name] = _one(ws, base, module)
    return out


def _read(ws: WeightSet, name: str) -> npt.NDArray[Any]:
    info = ws.info(name)
    f = ws.file_of(name)
    raw = f.raw(info)
    f.streamed += info.nbytes
    if info.is_float and not info.dtype.startswith("F8"):
        raw = to_float32(raw, info.dtype)
    return raw.reshape(info.shape) if info.shape else raw.reshape(1)


def _one(ws: WeightSet, base: WeightSet | None, module: QuantModule) -> QuantDelta:
    dtype = ws.info(module.codes).dtype
    label = describe(module, dtype)
    try:
        values, cells = dequantise(module, lambda role: _read(ws, module.tensors[role]), dtype)
    except DequantError as exc:
        return QuantDelta(module.weight, module.codes, label, error=str(exc))
    except READ_ERRORS as exc:
        return QuantDelta(module.weight, module.codes, label, error=str(exc) or "read failed")
    nan = int(np.count_nonzero(np.isnan(values)))
    inf = int(np.count_nonzero(np.isinf(values)))
    shape = tuple(values.shape)
    twin = base.info(module.weight) if base is not None and module.weight in base.where else None
    if base is None or twin is None or twin.shape != shape or not twin.is_float or nan or inf:
        return QuantDelta(module.weight, module.codes, label, nan=nan, inf=inf, shape=shape)
    b = to_float32(base.file_of(module.weight).raw(twin), twin.dtype).reshape(shape)
    bb = _sq(b)
    if not math.isfinite(bb) or bb == 0:
        return QuantDelta(module.weight, module.codes, label, shape=shape)
    rel = math.sqrt(_sq(values - b) / bb)
    noise = math.sqrt(_sq(cells) / 12 / bb)
    return QuantDelta(module.weight, module.codes, label, rel, noise, shape=shape)
