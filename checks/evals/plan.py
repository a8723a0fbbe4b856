"""Which contribution tensors the tensor pass reads, against which base tensor, at what cost."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from checks.evals.safetensors_reader import TensorInfo
from checks.evals.stream import span
from checks.evals.weightset import WeightSet


@dataclass(frozen=True)
class Job:
    """One contribution tensor: scanned for NaN/Inf, and compared with ``twin`` when given."""

    info: TensorInfo
    twin: TensorInfo | None = None
    rows: int | None = None  # rows compared when only the row counts differ (vocab changes)

    @property
    def needs_data(self) -> bool:
        # Integer buffers of different shapes differ without a byte being read.
        return self.info.is_float or self.twin is None or self.info.shape == self.twin.shape


@dataclass
class Plan:
    jobs: dict[str, list[Job]] = field(default_factory=dict)  # by contribution file

    @property
    def bytes(self) -> int:
        """Tensor bytes the pass streams from the contribution: each file's span, read once."""
        return sum(span(j.info for j in jobs if j.needs_data) for jobs in self.jobs.values())


def plan_reads(contrib: WeightSet, base: WeightSet | None, skip: Collection[str] = ()) -> Plan:
    """Every float tensor, and every tensor with a base twin of the same kind; not ``skip``
    (quantised codes, which mean nothing until dequantised)."""
    plan = Plan()
    for name in sorted(contrib.where):
        if name in skip:
            continue
        ci = contrib.info(name)
        twin = base.info(name) if base is not None and name in base.where else None
        job: Job | None = None
        if twin is not None and twin.is_float == ci.is_float:
            rows = _overlap_rows(ci, twin)
            if rows != -1:
                job = Job(ci, twin, rows)
        if job is None and ci.is_float:
            job = Job(ci)
        if job is not None:
            plan.jobs.setdefault(contrib.where[name], []).append(job)
    return plan


def _overlap_rows(c: TensorInfo, b: TensorInfo) -> int | None:
    """Rows both share when only the first dimension differs (an embedding grown or cut)."""
    if c.shape == b.shape:
        return None
    if len(c.shape) == len(b.shape) >= 1 and c.shape[1:] == b.shape[1:]:
        return min(c.shape[0], b.shape[0])
    return -1
