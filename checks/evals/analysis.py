"""What the tier-1 tensor comparison found: per-tensor deltas, and the analysis they make up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from checks.evals.quant_compare import QuantDelta

FINGERPRINT_SAMPLES = 64


@dataclass
class Delta:
    """A contribution tensor against the base tensor of the same name."""

    name: str
    rel_l2: float | None  # None: not a float tensor, or the base is all zero or not finite
    identical: bool
    base_finite: bool = True
    rows_compared: int | None = None  # set when the row counts differ (vocab changes)
    cast: bool = False  # the base's values rounded to this tensor's dtype, bit for bit

    @property
    def same(self) -> bool:
        """Identical, or the base only cast to another dtype."""
        return self.identical or self.cast


@dataclass
class Analysis:
    nonfinite: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (nan, inf)
    deltas: dict[str, Delta] = field(default_factory=dict)
    copied: dict[str, str] = field(default_factory=dict)  # contribution name -> base name
    shuffled: list[str] = field(default_factory=list)
    nonzero: set[str] = field(default_factory=set)  # of the tensors asked about
    # Stored-bit samples of compared tensors, to match against other base tensors.
    fingerprints: dict[str, bytes | None] = field(default_factory=dict)
    # Compared tensors whose norm equals the base's though they moved: maybe a permutation.
    suspects: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # file -> why its stream broke off
    quantised: dict[str, QuantDelta] = field(default_factory=dict)  # by dense weight name
    skipped: list[str] = field(default_factory=list)  # what did not run, for the notes


def fingerprint(sample: npt.NDArray[Any]) -> bytes | None:
    """The sample's bits; None for (sampled) constant tensors, which collide."""
    if sample.size == 0 or np.all(sample == sample[0]):
        return None
    return np.ascontiguousarray(sample).tobytes()
