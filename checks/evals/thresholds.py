"""Eval thresholds: the bot's defaults, overridden by a repository's ``[evals]`` policy table."""

from __future__ import annotations

from collections.abc import Mapping

DEFAULTS: dict[str, float] = {
    # Tier 1: a fine-tune moves weight matrices by a few percent; re-initialised ones by ~1.0.
    "unrelated_rel_l2": 0.9,
    # Tier 2, as ratios or differences against the base on the same text and tokenizer.
    "perplexity_ratio_warn": 1.15,
    "perplexity_ratio_fail": 1.5,
    "repetition_increase_warn": 0.25,
    "auc_drop_warn": 0.05,
    "auc_drop_fail": 0.15,
    # Tier 2 limits on a CPU worker: weight bytes of the larger model, and wall seconds.
    "tier2_max_bytes": 2.0e9,
    "tier2_timeout_s": 300.0,
}


def thresholds(policy: object) -> dict[str, float]:
    """Defaults with the policy's known keys laid over them; unknown keys are ignored."""
    given: Mapping[str, float] = getattr(policy, "eval_thresholds", None) or {}
    merged = dict(DEFAULTS)
    for key, value in given.items():
        if key in DEFAULTS:
            merged[key] = float(value)
    return merged
