"""Findings for restructured models: renamed tensors, pruned layers, tensors truly missing."""

from __future__ import annotations

from typing import Any

from checks.evals.restructure import Restructure
from checks.evals.rules import finding, names
from checks.evals.structure import LAYER_KEYS, first_int, text_config
from checks.findings import Finding, Severity


def layer_count(config: Any) -> int | None:
    return first_int(text_config(config), LAYER_KEYS)


def pruned_consistently(r: Restructure, config: Any, base_config: Any) -> bool:
    """Whole layers were removed and config.json's layer count says so."""
    mine, theirs = layer_count(config), layer_count(base_config)
    return (
        bool(r.removed_layers)
        and mine is not None
        and theirs is not None
        and mine == theirs - len(r.removed_layers)
    )


def restructure_findings(
    r: Restructure, anchor: str, config: Any, base_config: Any
) -> list[Finding]:
    out: list[Finding] = []
    renamed = r.renamed
    if renamed:
        pairs = [f"{c} = base {b}" for c, b in renamed.items()]
        out.append(
            finding(
                "restructured",
                Severity.INFO,
                anchor,
                f"{len(renamed)} tensors were matched to the base by their values, not their "
                f"names (renamed or renumbered): {names(pairs, 3)}",
                renamed=renamed,
            )
        )
    if r.removed_layers:
        layers = ", ".join(str(i) for i in r.removed_layers)
        count = len(r.removed) - len(r.removed_outside_layers)
        if pruned_consistently(r, config, base_config):
            out.append(
                finding(
                    "pruned",
                    Severity.MEDIUM,
                    "config.json",
                    f"pruned: base layers {layers} were removed ({count} tensors) and "
                    f"config.json agrees ({layer_count(base_config)} → {layer_count(config)} "
                    "layers); the rest matches the base. Pruning costs quality: run tier 2 "
                    "(review --model-evals) to measure it",
                    removed_layers=r.removed_layers,
                )
            )
        else:
            out.append(
                finding(
                    "missing-tensor",
                    Severity.HIGH,
                    anchor,
                    f"base layers {layers} are missing ({count} tensors) but config.json still "
                    f"counts {layer_count(config)} layers (the base {layer_count(base_config)}): "
                    "they would load as random init",
                    removed_layers=r.removed_layers,
                )
            )
    rest = r.removed_outside_layers
    if rest:
        out.append(
            finding(
                "missing-tensor",
                Severity.HIGH,
                anchor,
                f"{len(rest)} base tensors are missing, under any name (they would load as "
                f"random init): {names(rest)}",
            )
        )
    return out
