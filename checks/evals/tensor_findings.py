"""Turns the tensor pass's measurements into findings: NaN/Inf, re-uploads, foreign weights."""

from __future__ import annotations

import statistics

from checks.evals.rules import finding, names
from checks.evals.structure import embedding_name
from checks.evals.tensors import Analysis
from checks.evals.weightset import WeightSet
from checks.findings import Finding, Severity


def nonfinite_findings(ws: WeightSet, analysis: Analysis) -> list[Finding]:
    out: list[Finding] = []
    for name, (nan, inf) in sorted(analysis.nonfinite.items()):
        total = ws.info(name).numel
        rule = "nan" if nan else "inf"
        what = " and ".join(
            p for p in (f"{nan} NaN" if nan else "", f"{inf} Inf" if inf else "") if p
        )
        out.append(
            finding(
                rule,
                Severity.HIGH,
                ws.where[name],
                f"{name} holds {what} of its {total} values: the model's outputs will be NaN",
                location=name,
                nan=nan,
                inf=inf,
            )
        )
    return out


def _is_tied_pair(a: str, b: str, base: WeightSet) -> bool:
    """A head saved untied holds the embedding's values; that is a copy by design."""
    emb = embedding_name(base)
    return {a, b} & {emb} != set() and any(n.endswith("lm_head.weight") for n in (a, b))


def delta_findings(
    ws: WeightSet, base: WeightSet, analysis: Analysis, limit: float, notes: list[str]
) -> list[Finding]:
    out: list[Finding] = []
    deltas = analysis.deltas
    anchor = sorted(ws.files)[0]
    broken_base = sorted(n for n, d in deltas.items() if not d.base_finite)
    if broken_base:
        notes.append(f"the base itself holds NaN/Inf in {names(broken_base)}; not compared")
    rels = {n: d.rel_l2 for n, d in deltas.items() if d.rel_l2 is not None}
    matrices = [r for n, r in rels.items() if len(ws.info(n).shape) >= 2] or list(rels.values())
    if rels:
        worst = max(rels, key=lambda n: rels[n])
        median = statistics.median(matrices)
        notes.append(
            f"delta vs base: {len(deltas)} tensors compared, relative L2 median {median:.4g} "
            f"over {len(matrices)} weight matrices, max {rels[worst]:.4g} ({worst})"
        )
    else:
        median = 0.0
    if analysis.failed:
        # Some tensors were never compared: "all identical" or a median would be a guess.
        notes.append("identical/unrelated verdicts skipped: not every tensor could be read")
    else:
        same_names = set(ws.where) == set(base.where)
        if deltas and same_names and all(d.identical for d in deltas.values()):
            out.append(
                finding(
                    "identical",
                    Severity.MEDIUM,
                    anchor,
                    f"all {len(deltas)} tensors are identical to the base: "
                    "a re-upload, not a fine-tune",
                )
            )
            return out
        if matrices and median >= limit:
            out.append(
                finding(
                    "unrelated",
                    Severity.HIGH,
                    anchor,
                    f"median relative L2 distance to the base is {median:.3g} over "
                    f"{len(matrices)} weight matrices (a fine-tune moves them by a few percent; "
                    f"limit {limit:g}): these weights are not a fine-tune of this base",
                    median_rel_l2=median,
                )
            )
    copied = {c: b for c, b in analysis.copied.items() if not _is_tied_pair(c, b, base)}
    if copied:
        pairs = [f"{c} = base {b}" for c, b in sorted(copied.items())]
        out.append(
            finding(
                "swapped",
                Severity.HIGH,
                ws.where[min(copied)],
                f"{len(copied)} tensors hold the values of a different base tensor "
                f"(swapped or copied layers): {names(pairs, 3)}",
                tensors=dict(sorted(copied.items())),
            )
        )
    if analysis.shuffled:
        shuffled = sorted(analysis.shuffled)
        out.append(
            finding(
                "shuffled",
                Severity.HIGH,
                ws.where[shuffled[0]],
                f"{len(shuffled)} tensors hold exactly the base's values in another order "
                f"(shuffled; relative L2 {max(rels.get(n, 0.0) for n in shuffled):.3g}): "
                f"{names(shuffled)}",
                tensors=shuffled,
            )
        )
    return out
