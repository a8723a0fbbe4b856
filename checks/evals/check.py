"""Tier-1 quick evals: structure, NaN/Inf and the delta against the base, with numpy only."""

from __future__ import annotations

from contextlib import ExitStack

from checks.base import CheckResult, Contribution, FileFacts, ProgressCallback
from checks.evals.adapters import CONFIG as ADAPTER_CONFIG
from checks.evals.adapters import b_matrices, check_adapter
from checks.evals.analysis import Analysis
from checks.evals.files import ModelFiles, local_folder, of_contribution
from checks.evals.gguf_check import gguf_files, run_gguf
from checks.evals.plan import plan_reads
from checks.evals.quant import auxiliary, find_quantised, quantised_bytes
from checks.evals.quant_compare import compare_quantised
from checks.evals.realign import realign
from checks.evals.restructure import needs_matching
from checks.evals.rules import finding, names, size
from checks.evals.structure import (
    check_against_base,
    check_config,
    check_config_vs_base,
    check_index,
    check_tokenizer,
)
from checks.evals.tensor_findings import delta_findings, nonfinite_findings, quantised_findings
from checks.evals.tensors import analyse
from checks.evals.thresholds import thresholds
from checks.evals.weightset import (
    ADAPTER_WEIGHTS,
    Base,
    WeightSet,
    load_adapter,
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
        mine = of_contribution(contribution)
        with ExitStack() as stack:
            _run(contribution, mine, stack, result)
        # Only now: the weight files' sources were closed, so their reads are all booked.
        result.findings += _problems(mine)
        result.files += _facts(mine)
        if progress is not None:
            for rel in sorted(mine.formats):
                if mine.formats[rel] == "safetensors":
                    progress(rel)
        return result


def _run(
    contribution: Contribution, mine: ModelFiles, stack: ExitStack, result: CheckResult
) -> None:
    files = list(contribution.files)
    adapter = ADAPTER_CONFIG in files and ADAPTER_WEIGHTS in files
    ws = stack.enter_context(load_adapter(mine) if adapter else load_weights(mine))
    # The weight scan already fails a broken safetensors header; here it only leaves a gap.
    for rel, why in sorted(ws.unreadable.items()):
        result.findings.append(
            finding("unreadable", Severity.INFO, rel, f"not evaluated: cannot map the file ({why})")
        )
    for rel, why in sorted(ws.failed.items()):
        result.findings.append(_read_failed(rel, f"the header could not be read ({why})"))
    ggufs = gguf_files(files)
    if not ws.files and ggufs and not adapter:
        gguf_base = _load_base(contribution, stack, result)
        if gguf_base is not None and gguf_base.weights is not None:
            run_gguf(contribution, mine, ggufs, gguf_base, result)
        return
    if not ws.files:
        _no_weights(result, ws)
        return
    base = _load_base(contribution, stack, result)
    weights = base.weights if base is not None else None
    quantised = {} if adapter else find_quantised(ws, mine.json("config.json"))
    pruned = False
    if not adapter:
        result.findings += check_index(ws, mine)
        result.findings += check_config(ws, mine)
        result.findings += check_tokenizer(ws, mine, base.files if base else None)
        if base is not None and weights is not None:
            skip: tuple[str, ...] = ()
            # Quantised codes say nothing until dequantised: those are matched by name only.
            if not quantised and needs_matching(ws, weights):
                lined_up = realign(ws, base, contribution.max_stream_bytes, result)
                # From here on the base is seen under the contribution's names.
                weights, skip, pruned = lined_up.base, lined_up.skip_keys, lined_up.pruned
            result.findings += check_config_vs_base(mine, base.files, skip)
            result.findings += check_against_base(ws, weights, quantised)
    compared = weights if not adapter else None
    # Codes and scales are read together by the dequantisation, which scans the result.
    plan = plan_reads(ws, compared, skip=auxiliary(quantised))
    planned = plan.bytes + quantised_bytes(ws, quantised)
    cap = contribution.max_stream_bytes
    analysis: Analysis | None = None
    if cap is not None and planned > cap:
        result.findings.append(_skipped(ws, planned, cap, adapter, compared is not None))
    else:
        nonzero = set(b_matrices(ws)) if adapter else set()
        budget = None if cap is None else cap - (planned - plan.bytes)
        analysis = analyse(ws, compared, plan, nonzero=nonzero, budget=budget)
        analysis.quantised = compare_quantised(ws, compared, quantised)
    if adapter:
        nonzero_found = analysis.nonzero if analysis is not None else None
        result.findings += check_adapter(mine, ws, base, contribution.base_id, nonzero_found)
    kind = "adapter" if adapter else "model"
    scan = "NaN/Inf scan" if analysis is not None else "no NaN/Inf scan (over the streaming bound)"
    result.notes.append(
        f"tier 1 ran on the {kind}: {len(ws.where)} tensors in {len(ws.files)} files "
        f"({ws.nbytes / 1e6:.1f} MB), {scan}"
        + (", structure vs config, tokenizer and index" if not adapter else ", LoRA layout")
    )
    if analysis is None:
        assert cap is not None
        # The comment shows info findings only in the JSON report; the note names the rule.
        result.notes.append(
            f"tensor checks skipped (evals-tensor-checks-skipped): {size(planned)} of tensor "
            f"data is over the {size(cap)} streaming bound (max_stream_bytes)"
        )
        return
    result.findings += nonfinite_findings(ws, analysis)
    result.findings += quantised_findings(ws, analysis, result.notes)
    for rel, why in sorted(analysis.failed.items()):
        result.findings.append(_read_failed(rel, f"the tensor data broke off ({why})"))
    result.notes += analysis.skipped
    if compared is not None:
        limits = thresholds(contribution.policy)
        found = delta_findings(ws, compared, analysis, limits, result.notes, quantised)
        # What is left of a pruned model may equal the base: still not a re-upload.
        result.findings += [f for f in found if not (pruned and f.rule == "evals-identical")]


def _load_base(contribution: Contribution, stack: ExitStack, result: CheckResult) -> Base | None:
    if contribution.base is None:
        result.notes.append("delta vs base skipped: no base given (review --base)")
        return None
    files = local_folder(contribution.base)
    weights = stack.enter_context(load_weights(files))
    if not weights.files:
        result.notes.append("delta vs base skipped: the base has no readable safetensors")
        return Base(contribution.base, files, None)
    return Base(contribution.base, files, weights)


def _no_weights(result: CheckResult, ws: WeightSet) -> None:
    if ws.unreadable or ws.failed:
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


def _read_failed(rel: str, what: str) -> Finding:
    # A file that could not be read leaves its tensors unchecked: that must not pass.
    return finding(
        "read-failed",
        Severity.HIGH,
        rel,
        f"{what}: the NaN/Inf and base-delta checks did not finish for this file",
    )


def _skipped(ws: WeightSet, planned: int, cap: int, adapter: bool, with_base: bool) -> Finding:
    checks = "NaN/Inf" + (" and untrained-adapter" if adapter else "")
    checks += " and base-delta" if with_base else ""
    ran = "header and LoRA layout checks ran" if adapter else "header and structure checks ran"
    return finding(
        "tensor-checks-skipped",
        Severity.INFO,
        sorted(ws.files)[0],
        f"{checks} checks skipped: {size(planned)} of tensor data is over the {size(cap)} "
        f"streaming bound; {ran}",
        tensor_bytes=planned,
        max_stream_bytes=cap,
    )


def _problems(mine: ModelFiles) -> list[Finding]:
    out: list[Finding] = []
    for rel, (n, bound) in sorted(mine.too_large.items()):
        out.append(
            finding(
                "file-too-large",
                Severity.INFO,
                rel,
                f"not read: {rel} is {size(n)}, over the {size(bound)} bound for "
                "files the evals read whole; the checks that use it did not run",
            )
        )
    for rel, why in sorted(mine.failed.items()):
        out.append(
            finding(
                "read-failed",
                Severity.HIGH,
                rel,
                f"{rel} could not be read ({why}): the checks that use it did not run",
            )
        )
    return out


def _facts(mine: ModelFiles) -> list[FileFacts]:
    return [
        FileFacts(
            path=rel,
            format=mine.formats.get(rel, "unknown"),
            bytes_read=n,
            full_download=rel in mine.full_download,
        )
        for rel, n in sorted(mine.bytes_read.items())
    ]
