"""Turns the tensor pass's measurements into findings: NaN/Inf, re-uploads, foreign weights."""

from __future__ import annotations

import statistics
from collections.abc import Mapping

from checks.evals.analysis import Analysis, Delta
from checks.evals.quant import QuantModule, auxiliary
from checks.evals.quant_compare import NOISE_RATIO, QuantDelta
from checks.evals.rules import finding, names
from checks.evals.structure import OPTIONAL, embedding_name
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


def quantised_findings(ws: WeightSet, analysis: Analysis, notes: list[str]) -> list[Finding]:
    """NaN/Inf after dequantisation, layouts that do not decode, and what was dequantised."""
    out: list[Finding] = []
    quantised = analysis.quantised
    for name, q in sorted(quantised.items()):
        path = ws.where[q.codes]
        if q.error is not None:
            out.append(
                finding(
                    "quantised-unreadable",
                    Severity.MEDIUM,
                    path,
                    f"{q.codes} does not decode as {q.label} ({q.error}): not compared with "
                    "the base, and loaders will likely reject it",
                    location=q.codes,
                )
            )
        elif q.nan or q.inf:
            what = " and ".join(
                p for p in (f"{q.nan} NaN" * bool(q.nan), f"{q.inf} Inf" * bool(q.inf)) if p
            )
            out.append(
                finding(
                    "nan" if q.nan else "inf",
                    Severity.HIGH,
                    path,
                    f"{name} dequantises ({q.label}) to {what} values: the model's outputs "
                    "will be NaN",
                    location=q.codes,
                    nan=q.nan,
                    inf=q.inf,
                )
            )
    if quantised:
        labels = sorted({q.label for q in quantised.values()})
        notes.append(
            f"{len(quantised)} quantised weight matrices ({', '.join(labels)}) were dequantised "
            "with their scales before the NaN/Inf scan and the delta vs base"
        )
    return out


def delta_findings(
    ws: WeightSet,
    base: WeightSet,
    analysis: Analysis,
    limits: Mapping[str, float],
    notes: list[str],
    quantised: Mapping[str, QuantModule] | None = None,
) -> list[Finding]:
    out: list[Finding] = []
    limit = limits["unrelated_rel_l2"]
    deltas = analysis.deltas
    quant = {n: q for n, q in analysis.quantised.items() if q.rel_l2 is not None}
    anchor = sorted(ws.files)[0]
    broken_base = sorted(n for n, d in deltas.items() if not d.base_finite)
    if broken_base:
        notes.append(f"the base itself holds NaN/Inf in {names(broken_base)}; not compared")
    out += _quantised_shapes(ws, base, analysis)
    rels = {n: d.rel_l2 for n, d in deltas.items() if d.rel_l2 is not None}
    by_matrix = {n: r for n, r in rels.items() if len(ws.info(n).shape) >= 2}
    by_matrix.update({n: q.rel_l2 for n, q in quant.items() if q.rel_l2 is not None})
    matrices = list(by_matrix.values())
    rels.update({n: q.rel_l2 for n, q in quant.items() if q.rel_l2 is not None})
    matrices = matrices or list(rels.values())
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
        same_names = _names(ws, quantised or {}) == _names(base, {})
        if deltas and same_names and all(d.same for d in deltas.values()):
            if analysis.quantised:
                if quant.keys() == analysis.quantised.keys() and all(
                    q.within_noise for q in quant.values()
                ):
                    out.append(_quantised_copy(anchor, deltas, quant))
                    return out
            else:
                out.append(_identical(anchor, ws, base, deltas))
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
    if matrices and not analysis.failed and median < limit:
        explained = set(copied) | set(analysis.shuffled)
        out += outlier_findings(anchor, ws.where, by_matrix, median, explained, limits)
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


def outlier_findings(
    anchor: str,
    where: Mapping[str, str],
    by_matrix: Mapping[str, float],
    median: float,
    explained: set[str],
    limits: Mapping[str, float],
) -> list[Finding]:
    """A few matrices far off while the rest barely moved fail; a broad heavy move warns."""
    if median >= limits["heavy_change_rel_l2"]:
        return [
            finding(
                "heavy-change",
                Severity.MEDIUM,
                anchor,
                f"the weights moved far beyond a fine-tune's scale: median relative L2 "
                f"{median:.3g} over {len(by_matrix)} weight matrices (fine-tunes move them by a "
                f"few percent; warn at {limits['heavy_change_rel_l2']:g}, unrelated at "
                f"{limits['unrelated_rel_l2']:g}); tier 1 cannot tell a heavy fine-tune from "
                "damage: run tier 2 (review --model-evals)",
                median_rel_l2=median,
            )
        ]
    far = sorted(
        (n for n, r in by_matrix.items() if r >= limits["outlier_rel_l2"] and n not in explained),
        key=lambda n: (-by_matrix[n], n),
    )
    few = max(2, int(limits["outlier_max_share"] * len(by_matrix)))
    if not far or median >= limits["outlier_median_max"] or len(far) > few:
        return []
    shown = [f"{n} ({by_matrix[n]:.3g})" for n in far]
    return [
        finding(
            "outlier-tensors",
            Severity.HIGH,
            where.get(far[0], anchor),
            f"{len(far)} of {len(by_matrix)} weight matrices are far from the base while the "
            f"rest barely moved (relative L2 median {median:.3g}; outlier at "
            f"{limits['outlier_rel_l2']:g}): replaced or swapped-in tensors, not a fine-tune: "
            f"{names(shown)}",
            tensors={n: by_matrix[n] for n in far},
        )
    ]


def _names(ws: WeightSet, quantised: Mapping[str, QuantModule]) -> set[str]:
    """Tensor names as loaders see them: a quantised module as its weight, no buffers."""
    logical = (set(ws.where) - auxiliary(quantised)) | set(quantised)
    return {n for n in logical if not OPTIONAL.search(n)}


def _identical(anchor: str, ws: WeightSet, base: WeightSet, deltas: Mapping[str, Delta]) -> Finding:
    cast = sorted(n for n, d in deltas.items() if d.cast)
    if not cast:
        return finding(
            "identical",
            Severity.MEDIUM,
            anchor,
            f"all {len(deltas)} tensors are identical to the base: a re-upload, not a fine-tune",
        )
    dtypes = sorted({f"{base.info(n).dtype}→{ws.info(n).dtype}" for n in cast})
    return finding(
        "identical",
        Severity.MEDIUM,
        anchor,
        f"all {len(deltas)} tensors equal the base's values cast to another dtype "
        f"({', '.join(dtypes)}): a re-upload in another precision, not a fine-tune",
        cast=dtypes,
    )


def _quantised_copy(
    anchor: str, deltas: Mapping[str, Delta], quant: Mapping[str, QuantDelta]
) -> Finding:
    labels = sorted({q.label for q in quant.values()})
    cast = " (cast to another dtype)" if any(d.cast for d in deltas.values()) else ""
    rel = statistics.median(q.rel_l2 or 0.0 for q in quant.values())
    noise = statistics.median(q.noise or 0.0 for q in quant.values())
    return finding(
        "quantised-copy",
        Severity.LOW,
        anchor,
        f"quantised copy of the base, {' and '.join(labels)}: the {len(quant)} quantised weight "
        f"matrices are off the base by relative L2 {rel:.3g} (median), within the rounding "
        f"noise of the format ({noise:.3g}, limit ×{NOISE_RATIO:g}), and the other "
        f"{len(deltas)} tensors equal the base{cast}; a fine-tune smaller than that noise would "
        "look "
        "the same",
        quantisation=labels,
        median_rel_l2=rel,
        median_noise=noise,
    )


def _quantised_shapes(ws: WeightSet, base: WeightSet, analysis: Analysis) -> list[Finding]:
    out: list[Finding] = []
    for name, q in sorted(analysis.quantised.items()):
        if q.shape is None or name not in base.where:
            continue
        theirs = base.info(name).shape
        if q.shape != theirs:
            out.append(
                finding(
                    "shape-mismatch",
                    Severity.HIGH,
                    ws.where[q.codes],
                    f"{name} dequantises ({q.label}) to {list(q.shape)}; the base has "
                    f"{list(theirs)}",
                    location=q.codes,
                )
            )
    return out
