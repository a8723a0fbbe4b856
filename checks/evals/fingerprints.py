"""Content fingerprints of tensors: a strided sample decoded to float32, to match by value."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from checks.evals.analysis import FINGERPRINT_SAMPLES
from checks.evals.safetensors_reader import storage, to_float32
from checks.evals.weightset import WeightSet

F32 = npt.NDArray[np.float32]


def positions(numel: int) -> npt.NDArray[np.int64]:
    """The same evenly strided positions as the tensor pass's sampler."""
    step = max(numel // FINGERPRINT_SAMPLES, 1)
    return np.arange(0, min(numel, FINGERPRINT_SAMPLES * step), step, dtype=np.int64)[
        :FINGERPRINT_SAMPLES
    ]


def probe(ws: WeightSet, name: str) -> F32 | None:
    """The sample's values as float32 (so an F32 tensor and its BF16 cast nearly agree), read
    in place from a memory-mapped file; None for tensors that are not float, hold no values,
    or whose file has no map (a streamed pass gathers those: ``decode_sample``)."""
    info = ws.info(name)
    view = ws.file_of(name).source.view()
    if not info.is_float or info.numel == 0 or view is None:
        return None
    at = positions(info.numel)
    raw = np.frombuffer(view, dtype=storage(info.dtype), count=info.numel, offset=info.start)
    with np.errstate(invalid="ignore", over="ignore"):
        return to_float32(raw[at], info.dtype).astype(np.float32)


def decode_sample(ws: WeightSet, name: str, stored: bytes | None) -> F32 | None:
    """A streamed pass's fingerprint (the sample's stored bits) as float32 values."""
    info = ws.info(name)
    if stored is None or not info.is_float:
        return None
    raw = np.frombuffer(stored, dtype=storage(info.dtype))
    with np.errstate(invalid="ignore", over="ignore"):
        return to_float32(raw, info.dtype).astype(np.float32)


def is_constant(sample: F32 | None) -> bool:
    """Constant samples (norms at their init, zero biases) match every tensor of their shape."""
    return sample is None or not np.all(np.isfinite(sample)) or bool(np.all(sample == sample[0]))
