"""Turns the tier-2 worker's scores into findings, notes and the base-vs-contribution table."""

from __future__ import annotations

import math
from typing import Any

from checks.base import CheckResult
from checks.evals.rules import TIER2, finding
from checks.evals.sandbox import Outcome
from checks.findings import Severity

# (metric key, label) per model kind, in table order.
ROWS = {
    "causal": [("perplexity", "perplexity (held-out text)"), ("repetition", "repeated 4-grams")],
    "encoder": [
        ("auc", "paraphrase AUC"),
        ("paraphrase_cosine", "paraphrase cosine"),
        ("cosine_to_base", "embedding cosine to base"),
    ],
}


def _fmt(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return "–"
    return "NaN" if math.isnan(value) else f"{value:.4g}"


def judge(
    outcome: Outcome, payload: dict[str, Any] | None, limits: dict[str, float], result: CheckResult
) -> None:
    if payload is None:
        _failed(outcome, result)
        return
    if "skipped" in payload:
        result.notes.append(f"tier 2 skipped: {payload['skipped']}")
        return
    if "load_error" in payload:
        side, message = payload["load_error"]["side"], payload["load_error"]["message"]
        if side == "base":
            result.notes.append(f"tier 2 skipped: the base does not load ({message[:200]})")
            return
        result.findings.append(
            finding(
                "load",
                Severity.HIGH,
                "config.json",
                f"the contribution does not load with transformers (safetensors, no remote code): "
                f"{message[:300]}",
                check=TIER2,
            )
        )
        return
    kind, scores = payload["kind"], payload["scores"]
    base, mine = scores["base"], scores["contribution"]
    rows = [
        {"metric": label, "base": base.get(key), "contribution": mine.get(key)}
        for key, label in ROWS[kind]
    ]
    table = "; ".join(f"{r['metric']} {_fmt(r['base'])} → {_fmt(r['contribution'])}" for r in rows)
    result.notes.append(
        f"tier 2 ran ({kind}, {payload.get('seconds', 0):.1f} s in the sandbox): "
        f"base → contribution: {table}"
    )
    result.findings.append(
        finding(
            "model-table",
            Severity.INFO,
            "config.json",
            f"base vs contribution ({kind}): {table}",
            check=TIER2,
            table={"columns": ["metric", "base", "contribution"], "rows": rows},
        )
    )
    if kind == "causal":
        _causal(base, mine, limits, result)
    else:
        _encoder(base, mine, limits, result)


def _failed(outcome: Outcome, result: CheckResult) -> None:
    tail = (outcome.stderr.strip().splitlines() or ["no output"])[-1][:300]
    if outcome.timed_out:
        why = "did not finish in time (the sandbox was killed)"
    elif "MemoryError" in outcome.stderr or "alloc" in tail.lower():
        why = f"ran out of its memory limit ({tail})"
    else:
        why = f"crashed ({tail})"
    result.findings.append(
        finding(
            "model-error",
            Severity.MEDIUM,
            "config.json",
            f"the tier-2 model eval {why}: the model's outputs were not checked",
            check=TIER2,
        )
    )
    result.notes.append(f"tier 2 did not finish: {why}")


def _causal(
    base: dict[str, float], mine: dict[str, float], limits: dict[str, float], result: CheckResult
) -> None:
    b, c = base["perplexity"], mine["perplexity"]
    if not math.isfinite(b):
        result.notes.append("the base's perplexity is not finite; perplexity not compared")
    elif not math.isfinite(c):
        result.findings.append(
            finding(
                "perplexity",
                Severity.HIGH,
                "config.json",
                f"perplexity on the held-out text is {_fmt(c)} (base {b:.4g}): the model is broken",
                check=TIER2,
            )
        )
    else:
        ratio = c / b
        severity = (
            Severity.HIGH
            if ratio >= limits["perplexity_ratio_fail"]
            else Severity.MEDIUM
            if ratio >= limits["perplexity_ratio_warn"]
            else None
        )
        if severity is not None:
            result.findings.append(
                finding(
                    "perplexity",
                    severity,
                    "config.json",
                    f"perplexity on the held-out text rose from {b:.4g} to {c:.4g} (×{ratio:.2f}; "
                    f"warn at ×{limits['perplexity_ratio_warn']:g}, "
                    f"fail at ×{limits['perplexity_ratio_fail']:g})",
                    check=TIER2,
                    ratio=ratio,
                )
            )
    rise = mine["repetition"] - base["repetition"]
    if rise >= limits["repetition_increase_warn"]:
        result.findings.append(
            finding(
                "repetition",
                Severity.MEDIUM,
                "config.json",
                f"greedy generation repeats itself: {mine['repetition']:.0%} of 4-grams repeated "
                f"vs {base['repetition']:.0%} for the base",
                check=TIER2,
            )
        )


def _encoder(
    base: dict[str, float], mine: dict[str, float], limits: dict[str, float], result: CheckResult
) -> None:
    b, c = base["auc"], mine["auc"]
    if not math.isfinite(b):
        result.notes.append("the base's AUC is not finite; AUC not compared")
        return
    drop = b - c if math.isfinite(c) else math.inf
    if drop >= limits["auc_drop_fail"]:
        severity = Severity.HIGH
    elif drop >= limits["auc_drop_warn"]:
        severity = Severity.MEDIUM
    else:
        return
    result.findings.append(
        finding(
            "embedding-auc",
            severity,
            "config.json",
            f"paraphrase AUC fell from {b:.3f} to {_fmt(c)} (warn at a drop of "
            f"{limits['auc_drop_warn']:g}, fail at {limits['auc_drop_fail']:g})",
            check=TIER2,
        )
    )
