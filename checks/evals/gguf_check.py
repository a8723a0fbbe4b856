"""Tier 1 for a GGUF contribution: each file's tensors against the safetensors base."""

from __future__ import annotations

from checks.base import CheckResult, Contribution
from checks.evals.files import READ_ERRORS, ModelFiles
from checks.evals.gguf_compare import compare_gguf
from checks.evals.gguf_findings import gguf_findings
from checks.evals.rules import finding, size
from checks.evals.thresholds import thresholds
from checks.evals.weightset import Base
from checks.findings import Severity
from checks.weights.gguf import LayoutError, read_layout


def gguf_files(names: list[str]) -> list[str]:
    return sorted(n for n in names if "/" not in n and n.lower().endswith(".gguf"))


def run_gguf(
    contribution: Contribution, mine: ModelFiles, ggufs: list[str], base: Base, result: CheckResult
) -> None:
    assert base.weights is not None
    limits = thresholds(contribution.policy)
    label = contribution.base_id or base.root.name
    cap = contribution.max_stream_bytes
    for rel in ggufs:
        try:
            source = mine.open(rel)
        except READ_ERRORS as exc:
            result.findings.append(
                finding("read-failed", Severity.HIGH, rel, f"{rel} could not be read ({exc})")
            )
            continue
        try:
            try:
                layout = read_layout(source)
            except LayoutError as exc:
                # The weight scan fails a malformed GGUF; here it only leaves a gap.
                result.notes.append(f"{rel}: not compared with the base ({exc})")
                continue
            except READ_ERRORS as exc:
                result.findings.append(
                    finding("read-failed", Severity.HIGH, rel, f"the GGUF header broke off ({exc})")
                )
                continue
            mine.formats[rel] = "gguf"
            planned = sum(t.nbytes or 0 for t in layout.tensors)
            if cap is not None and planned > cap:
                result.findings.append(
                    finding(
                        "tensor-checks-skipped",
                        Severity.INFO,
                        rel,
                        f"GGUF NaN/Inf and base-delta checks skipped: {size(planned)} of tensor "
                        f"data is over the {size(cap)} streaming bound",
                        tensor_bytes=planned,
                        max_stream_bytes=cap,
                    )
                )
                continue
            comparison = compare_gguf(source, layout, base.weights)
            result.findings += gguf_findings(comparison, rel, label, limits, result.notes)
        finally:
            mine.account(rel, source)
            source.close()
