"""Tier-1 quick evals: structure, NaN/Inf and the delta against the base, with numpy only."""

from __future__ import annotations

import statistics
from pathlib import Path

from checks.base import CheckResult, Contribution, ProgressCallback
from checks.evals.adapters import CONFIG as ADAPTER_CONFIG
from checks.evals.adapters import check_adapter
from checks.evals.rules import finding, names
from checks.evals.structure import (
    check_against_base,
    check_config,
    check_config_vs_base,
    check_index,
    check_tokenizer,
    embedding_name,
)
from checks.evals.tensors import Analysis, analyse
from checks.evals.thresholds import thresholds
from checks.evals.weightset import (
    ADAPTER_WEIGHTS,
    WeightSet,
    folder_files,
    load_single,
    load_weights,
)
from checks.findings import Finding, Severity


class QuickEvalCheck:
    name = "evals"
    title = "quick evals, tier 1 (weights vs config and base)"

    def run(
        self, contribution: Contribution, progress: ProgressCallback | None = None
    ) -> CheckResult:
        result = CheckResult()
        files = list(contribution.files)
        root, base_root = contribution.root, contribution.base
        adapter = ADAPTER_CONFIG in files and ADAPTER_WEIGHTS in files
        ws = load_single(root, ADAPTER_WEIGHTS) if adapter else load_weights(root, files)
        # The weight scan already fails a broken safetensors header; here it only leaves a gap.
        for rel, why in sorted(ws.unreadable.items()):
            result.findings.append(
                finding(
                    "unreadable", Severity.INFO, rel, f"not evaluated: cannot map the file ({why})"
                )
            )
        if not ws.files:
            _no_weights(result, ws)
            return result
        base = _load_base(base_root, result)
        if adapter:
            result.findings += check_adapter(root, ws, base, base_root, contribution.base_id)
            analysis = analyse(ws, None)
        else:
            result.findings += check_index(ws, root, files)
            result.findings += check_config(ws, root)
            result.findings += check_tokenizer(ws, root, base_root)
            if base is not None and base_root is not None:
                result.findings += check_config_vs_base(root, base_root)
                result.findings += check_against_base(ws, base)
            analysis = analyse(ws, base)
        result.findings += _nonfinite(ws, analysis)
        kind = "adapter" if adapter else "model"
        result.notes.append(
            f"tier 1 ran on the {kind}: {len(ws.where)} tensors in {len(ws.files)} files "
            f"({ws.nbytes / 1e6:.1f} MB), NaN/Inf scan"
            + (", structure vs config, tokenizer and index" if not adapter else ", LoRA layout")
        )
        if base is not None and not adapter:
            limit = thresholds(contribution.policy)["unrelated_rel_l2"]
            result.findings += _delta_findings(ws, base, analysis, limit, result.notes)
        if progress is not None:
            for rel in sorted(ws.files):
                progress(rel)
        return result


def _no_weights(result: CheckResult, ws: WeightSet) -> None:
    if ws.unreadable:
        result.notes.append("tier 1 skipped: no readable safetensors file")
    elif ws.pickles:
        result.notes.append("tier 1 skipped: no safetensors (pickle weights only)")
        result.findings.append(
            finding(
                "not-evaluated",
                Severity.MEDIUM,
                ws.pickles[0],
                "not evaluated: convert to safetensors (pickle weights are never loaded for evals: "
                f"{names(ws.pickles)})",
            )
        )
    else:
        result.notes.append("tier 1 skipped: no model weights in this contribution")


def _load_base(base_root: Path | None, result: CheckResult) -> WeightSet | None:
    if base_root is None:
        result.notes.append("delta vs base skipped: no base given (review --base)")
        return None
    base = load_weights(base_root, folder_files(base_root))
    if not base.files:
        result.notes.append("delta vs base skipped: the base has no readable safetensors")
        return None
    return base


def _nonfinite(ws: WeightSet, analysis: Analysis) -> list[Finding]:
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


def _delta_findings(
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
                f"median relative L2 distance to the base is {median:.3g} over {len(matrices)} "
                f"weight matrices (a fine-tune moves them by a few percent; limit {limit:g}): "
                "these weights are not a fine-tune of this base",
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
