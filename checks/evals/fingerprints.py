"""Content fingerprints of tensors: a strided sample decoded to float32, to match by value."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from checks.evals.analysis import FINGERPRINT_SAMPLES
from checks.evals.safetensors_reader import TensorInfo, storage, to_float32
from checks.evals.weightset import WeightSet

F32 = npt.NDArray[np.float32]


def positions(numel: int) -> npt.NDArray[np.int64]:
    """The same evenly strided positions as the tensor pass's sampler."""
    step = max(numel // FINGERPRINT_SAMPLES, 1)
    return np.arange(0, min(numel, FINGERPRINT_SAMPLES * step), step, dtype=np.int64)[
        :FINGERPRINT_SAMPLES
    ]


def probe(ws: WeightSet, name: str) -> F32 | None:
    """The sample's values as float32 (so an F32 tensor and its BF16 cast nearly agree); None
    for tensors that are not float or hold no values. A memory-mapped file is sampled in place;
    any other source with one small read per position, FINGERPRINT_SAMPLES reads at most."""
    info = ws.info(name)
    if not info.is_float or info.numel == 0:
        return None
    f = ws.file_of(name)
    at = positions(info.numel)
    dtype = storage(info.dtype)
    view = f.source.view()
    raw: npt.NDArray[Any]
    if view is not None:
        raw = np.frombuffer(view, dtype=dtype, count=info.numel, offset=info.start)[at]
    else:
        raw = _read_positions(f.source.read_at, info, at, dtype)
        f.streamed += len(at) * dtype.itemsize
    with np.errstate(invalid="ignore", over="ignore"):
        return to_float32(raw, info.dtype).astype(np.float32)


def _read_positions(
    read_at: Any, info: TensorInfo, at: npt.NDArray[np.int64], dtype: np.dtype[Any]
) -> npt.NDArray[Any]:
    size = dtype.itemsize
    data = b"".join(read_at(info.start + int(i) * size, size) for i in at)
    return np.frombuffer(data, dtype=dtype)


def is_constant(sample: F32 | None) -> bool:
    """Constant samples (norms at their init, zero biases) match every tensor of their shape."""
    return sample is None or not np.all(np.isfinite(sample)) or bool(np.all(sample == sample[0]))
