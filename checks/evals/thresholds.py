"""Eval thresholds: the bot's defaults, overridden by a repository's ``[evals]`` policy table."""

from __future__ import annotations

from collections.abc import Mapping

DEFAULTS: dict[str, float] = {
    # Tier 1: a fine-tune moves weight matrices by a few percent; re-initialised ones by ~1.0.
    "unrelated_rel_l2": 0.9,
    # Moved everywhere far beyond any fine-tune: the fine-tunes measured for these checks moved
    # their matrices by a median of 0.005-0.23 (a real 150-step fine-tune: 0.23), while 30%
    # noise (0.30) already broke the model. At twice the largest real one, the weights are not
    # "unrelated" yet but tier 1 cannot vouch for them: warn and ask for tier 2.
    "heavy_change_rel_l2": 0.5,
    # Outliers: a few matrices far from the base while the rest barely moved, as when tensors
    # were swapped in or replaced after a fine-tune. A matrix replaced by independent values sits
    # at 1.0-1.4 and one moved by half its norm is not fine-tuned; "barely moved" is a median
    # under 0.1 (the larger fine-tunes above moved every matrix, so they never count as outliers);
    # "a few" is at most a quarter of the matrices, two at least (more is a broad change, which
    # the median judges); a swapped pair of layers in a 2-layer test model is still "a few".
    "outlier_rel_l2": 0.5,
    "outlier_median_max": 0.1,
    "outlier_max_share": 0.25,
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
