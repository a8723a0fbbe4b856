"""Turns a GGUF-vs-base comparison into findings: NaN/Inf, quantised copy, unrelated, outliers."""

from __future__ import annotations

import statistics
from collections.abc import Mapping

from checks.evals.gguf_compare import NOISE_RATIO, GGUFComparison
from checks.evals.rules import finding, names
from checks.evals.structure import OPTIONAL
from checks.evals.tensor_findings import outlier_findings
from checks.findings import Finding, Severity

FLOAT_TYPES = {"F32", "F16", "BF16", "F64"}  # stored as is: not what the file is quantised to


def gguf_findings(
    c: GGUFComparison, rel: str, base_label: str, limits: Mapping[str, float], notes: list[str]
) -> list[Finding]:
    out: list[Finding] = []
    for name, (nan, inf) in sorted(c.nonfinite.items()):
        what = " and ".join(p for p in (f"{nan} NaN" * bool(nan), f"{inf} Inf" * bool(inf)) if p)
        out.append(
            finding(
                "nan" if nan else "inf",
                Severity.HIGH,
                rel,
                f"{name} dequantises to {what} values: the model's outputs will be NaN",
                location=name,
            )
        )
    for name, why in sorted(c.skipped.items()):
        notes.append(f"{rel}: {name} not compared with the base: {why}")
    if not c.deltas:
        notes.append(
            f"{rel}: no tensor could be compared with the base (architecture or names unknown "
            "to gguf-py, or types it cannot dequantise)"
        )
        return out
    missing = [n for n in c.uncovered if not OPTIONAL.search(n)]
    if missing:
        out.append(
            finding(
                "missing-tensor",
                Severity.MEDIUM,
                rel,
                f"{len(missing)} base tensors have no GGUF tensor (llama.cpp will refuse the "
                f"file or run without them): {names(missing)}",
            )
        )
    by_matrix = {d.name: d.rel_l2 for d in c.deltas if d.is_matrix and d.rel_l2 is not None}
    rels = [d.rel_l2 for d in c.deltas if d.rel_l2 is not None]
    median = statistics.median(by_matrix.values() or rels or [0.0])
    worst = max(c.deltas, key=lambda d: d.rel_l2 or 0.0)
    types = sorted({d.type_name for d in c.deltas})
    notes.append(
        f"{rel}: {len(c.deltas)} GGUF tensors ({', '.join(types)}) dequantised and compared with "
        f"the base: relative L2 median {median:.4g} over {len(by_matrix)} weight matrices, max "
        f"{worst.rel_l2 or 0.0:.4g} ({worst.name} = base {worst.base})"
    )
    unknown = sorted({d.type_name for d in c.deltas if d.noise is None})
    if unknown:
        notes.append(
            f"{rel}: no rounding-noise reference for {', '.join(unknown)} (gguf-py dequantises "
            "but cannot quantise them), so a quantised copy cannot be told from a fine-tune there"
        )
    complete = not missing and not c.skipped and not c.nonfinite
    quantised = sorted(set(types) - FLOAT_TYPES) or types
    if complete and all(d.within_noise for d in c.deltas):
        noises = [d.noise for d in c.deltas if d.is_matrix and d.noise is not None] or [0.0]
        out.append(
            finding(
                "quantised-copy",
                Severity.LOW,
                rel,
                f"quantised copy of base {base_label} (GGUF {', '.join(quantised)}): the "
                f"{len(c.deltas)} tensors are off the base by relative L2 {median:.3g} "
                f"(median), within the noise of quantising the base to the same types "
                f"({statistics.median(noises):.3g}, limit ×{NOISE_RATIO:g}); a fine-tune "
                "smaller than that noise would look the same",
                quantisation=quantised,
                median_rel_l2=median,
            )
        )
        return out
    if by_matrix and median >= limits["unrelated_rel_l2"]:
        out.append(
            finding(
                "unrelated",
                Severity.HIGH,
                rel,
                f"median relative L2 distance to the base is {median:.3g} over {len(by_matrix)} "
                f"dequantised weight matrices (limit {limits['unrelated_rel_l2']:g}): these "
                f"weights are not a quantisation or fine-tune of {base_label}",
                median_rel_l2=median,
            )
        )
        return out
    if by_matrix:
        out += outlier_findings(rel, {}, by_matrix, median, set(), limits)
    return out
