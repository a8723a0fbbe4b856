"""Lines a restructured contribution up with its base: samples, matching, findings, the view."""

from __future__ import annotations

from dataclasses import dataclass

from checks.base import CheckResult
from checks.evals.fingerprints import F32, decode_sample
from checks.evals.plan import plan_reads
from checks.evals.restructure import aliased, match
from checks.evals.restructure_findings import pruned_consistently, restructure_findings
from checks.evals.rules import size
from checks.evals.structure import LAYER_KEYS
from checks.evals.tensors import analyse
from checks.evals.weightset import Base, WeightSet


@dataclass(frozen=True)
class Realigned:
    base: WeightSet  # the base under the contribution's names (or as it was)
    skip_keys: tuple[str, ...] = ()  # config keys the pruning finding explains
    pruned: bool = False  # base tensors were removed: what is left is no re-upload


def realign(ws: WeightSet, base: Base, cap: int | None, result: CheckResult) -> Realigned:
    assert base.weights is not None
    samples = _streamed_samples(ws, cap, result)
    if samples is None:
        return Realigned(base.weights)
    config, base_config = ws.model.json("config.json"), base.files.json("config.json")
    layout = match(ws, base.weights, samples or None)
    result.findings += restructure_findings(layout, sorted(ws.files)[0], config, base_config)
    skip = LAYER_KEYS if pruned_consistently(layout, config, base_config) else ()
    return Realigned(aliased(base.weights, layout), skip, bool(layout.removed))


def _streamed_samples(
    ws: WeightSet, cap: int | None, result: CheckResult
) -> dict[str, F32 | None] | None:
    """{} when every file is memory-mapped (samples are read in place); else the samples of a
    streamed pass, one sequential read per file; None when that pass did not fit or broke."""
    if all(f.source.view() is not None for f in ws.files.values()):
        return {}
    plan = plan_reads(ws, None)
    # The pass comes on top of the comparison's own: both must fit the streaming bound.
    if cap is not None and 2 * plan.bytes > cap:
        result.notes.append(
            f"tensors matched to the base by name only: matching renamed layers by content "
            f"streams the {size(plan.bytes)} of weights twice, over the {size(cap)} bound"
        )
        return None
    pre = analyse(ws, None, plan)
    if pre.failed:
        result.notes.append("tensors matched to the base by name only: the sampling pass broke off")
        return None
    return {n: decode_sample(ws, n, pre.fingerprints.get(n)) for n in ws.where}
