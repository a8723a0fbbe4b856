"""Confirms swapped and shuffled tensors: a second streamed read of only the suspects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from checks.evals.analysis import FINGERPRINT_SAMPLES, Analysis, fingerprint
from checks.evals.files import READ_ERRORS
from checks.evals.rules import size
from checks.evals.safetensors_reader import TensorInfo, element_ranges
from checks.evals.stream import Values, span, tensor_values
from checks.evals.weightset import WeightSet

_MASK = (1 << 64) - 1
_MIX1 = np.uint64(0x9E3779B97F4A7C15)
_MIX2 = np.uint64(0xBF58476D1CE4E5B9)


@dataclass
class _Suspect:
    name: str
    shuffle: bool  # compare the multiset of values with the twin's
    others: list[str] = field(default_factory=list)  # base tensors it may be a copy of
    equal: dict[str, bool] = field(default_factory=dict)
    multiset: int = 0


def confirm(out: Analysis, contrib: WeightSet, base: WeightSet, budget: int | None) -> None:
    """Fills ``out.shuffled`` and ``out.copied``; reads at most ``budget`` bytes (None: any)."""
    # Shuffled tensors are taken out of these below, once the second read has told.
    changed = [n for n, d in out.deltas.items() if not d.identical and d.rel_l2 != 0.0]
    suspects = {n: _Suspect(n, shuffle=True) for n in out.suspects}
    for name, others in _copy_candidates(out, contrib, base, changed).items():
        suspects.setdefault(name, _Suspect(name, shuffle=False)).others = others
    if not suspects:
        return
    by_file: dict[str, list[TensorInfo]] = {}
    for name in suspects:
        by_file.setdefault(contrib.where[name], []).append(contrib.info(name))
    cost = sum(span(infos) for infos in by_file.values())
    if budget is not None and cost > budget:
        out.skipped.append(
            f"swapped/shuffled tensor check skipped: confirming {len(suspects)} suspects takes "
            f"{size(cost)} more than the streaming bound allows"
        )
        return
    for rel, infos in sorted(by_file.items()):
        try:
            for info, values in tensor_values(contrib.files[rel], infos):
                _read(suspects[info.name], values, base)
        except READ_ERRORS as exc:
            out.failed.setdefault(rel, str(exc) or type(exc).__name__)
            for info in infos:
                suspects.pop(info.name, None)
    for name in sorted(suspects):
        s = suspects[name]
        if s.shuffle and s.multiset == _base_multiset(base, name):
            out.shuffled.append(name)
    for name in changed:
        suspect = suspects.get(name)
        if suspect is None or name in out.shuffled:
            continue
        for other in suspect.others:
            if suspect.equal.get(other, False):
                out.copied[name] = other
                break


def _copy_candidates(
    out: Analysis, contrib: WeightSet, base: WeightSet, changed: list[str]
) -> dict[str, list[str]]:
    """A changed tensor whose strided sample equals that of a *different* base tensor."""
    if not changed:
        return {}
    wanted = {(contrib.info(n).shape, contrib.info(n).dtype) for n in changed}
    index: dict[tuple[tuple[int, ...], str, bytes], list[str]] = {}
    for name in base.where:
        info = base.info(name)
        if (info.shape, info.dtype) in wanted:
            fp = _sample(base.file_of(name).raw(info))
            if fp is not None:
                index.setdefault((info.shape, info.dtype, fp), []).append(name)
    found: dict[str, list[str]] = {}
    for name in changed:
        fp = out.fingerprints.get(name)
        if fp is None:
            continue
        info = contrib.info(name)
        others = [o for o in index.get((info.shape, info.dtype, fp), []) if o != name]
        if others:
            found[name] = others
    return found


def _sample(raw: npt.NDArray[Any]) -> bytes | None:
    step = max(raw.size // FINGERPRINT_SAMPLES, 1)
    return fingerprint(raw[::step][:FINGERPRINT_SAMPLES])


def _read(s: _Suspect, values: Values, base: WeightSet) -> None:
    others = {o: base.file_of(o).raw(base.info(o)) for o in s.others}
    s.equal = dict.fromkeys(others, True)
    for i, raw in values:
        if s.shuffle:
            s.multiset = (s.multiset + _multiset(raw)) & _MASK
        for other, oraw in others.items():
            if s.equal[other]:
                s.equal[other] = bool(np.array_equal(raw, oraw[i : i + len(raw)]))


def _base_multiset(base: WeightSet, name: str) -> int:
    info = base.info(name)
    raw = base.file_of(name).raw(info)
    total = 0
    for i, j in element_ranges(info):
        total = (total + _multiset(raw[i:j])) & _MASK
    return total


def _multiset(raw: npt.NDArray[Any]) -> int:
    """An order-independent hash of the stored values: equal for any permutation, and (a 64-bit
    mix per value, summed) different otherwise but by chance; memory stays one chunk."""
    bits = raw.view(np.dtype(f"<u{raw.dtype.itemsize}")).astype(np.uint64)
    if raw.dtype.kind == "f":  # sorting compares values, so -0.0 and 0.0 count as one
        bits[bits == np.uint64(1 << (8 * raw.dtype.itemsize - 1))] = 0
    bits *= _MIX1
    bits ^= bits >> np.uint64(31)
    bits *= _MIX2
    bits ^= bits >> np.uint64(29)
    return int(bits.sum(dtype=np.uint64))
