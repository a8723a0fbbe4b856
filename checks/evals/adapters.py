"""PEFT/LoRA adapters: right base, target modules present, A/B shapes, trained at all."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from checks.evals.adapter_base import base_names, names_base
from checks.evals.files import ModelFiles
from checks.evals.rules import finding, names
from checks.evals.weightset import ADAPTER_WEIGHTS, Base, WeightSet
from checks.findings import Finding, Severity

CONFIG = "adapter_config.json"
PEFT_PREFIX = "base_model.model."
LORA = re.compile(
    r"^(?P<module>.+)\.lora_(?P<emb>embedding_)?(?P<ab>[AB])(?:\.[^.]+)?(?:\.weight)?$"
)


def _base_tensor(module: str, base: WeightSet) -> str | None:
    """The base weight a LoRA module wraps; PEFT's wrapper may add or drop a ``model.`` level."""
    path = module.removeprefix(PEFT_PREFIX)
    rest = path.partition(".")[2]
    for candidate in (path, rest, f"model.{path}"):
        if candidate and f"{candidate}.weight" in base.where:
            return f"{candidate}.weight"
    return None


def _rank(module: str, config: dict[str, Any]) -> int | None:
    pattern = config.get("rank_pattern") or {}
    for key, value in pattern.items():
        if re.search(rf"(^|\.){key}$", module.removeprefix(PEFT_PREFIX)):
            return int(value)
    r = config.get("r")
    return int(r) if isinstance(r, int) else None


def b_matrices(adapter: WeightSet) -> list[str]:
    """The LoRA B matrices: all zero, the adapter was never trained."""
    return [n for n in adapter.where if (m := LORA.match(n)) and m["ab"] == "B"]


def check_adapter(
    mine: ModelFiles,
    adapter: WeightSet,
    base: Base | None,
    base_id: str | None,
    nonzero: Collection[str] | None,
) -> list[Finding]:
    """``nonzero``: the B matrices holding a value other than zero; None when not read."""
    config = mine.json(CONFIG)
    if not isinstance(config, dict):
        return [
            finding(
                "adapter-config", Severity.HIGH, CONFIG, "adapter_config.json is not readable JSON"
            )
        ]
    out: list[Finding] = []
    claimed = config.get("base_model_name_or_path")
    if base is not None:
        if not isinstance(claimed, str) or not claimed:
            out.append(
                finding(
                    "adapter-base", Severity.LOW, CONFIG, "the adapter does not name its base model"
                )
            )
        elif not names_base(
            claimed, base_names(base.root, base.files.json("config.json"), base_id)
        ):
            out.append(
                finding(
                    "adapter-base",
                    Severity.MEDIUM,
                    CONFIG,
                    f"the adapter was made for {claimed!r}, not the base under review "
                    f"({base_id or base.root.name}): its deltas were trained on other weights",
                    claimed=claimed,
                )
            )
    weights = base.weights if base is not None else None
    if weights is not None:
        out += _targets(config, weights)
    out += _shapes(adapter, config, weights)
    if nonzero is not None:
        out += _untrained(adapter, nonzero)
    return out


def _targets(config: dict[str, Any], base: WeightSet) -> list[Finding]:
    targets = config.get("target_modules")
    modules = {n.rsplit(".", 1)[0] for n in base.where}
    if isinstance(targets, str):
        if targets == "all-linear" or any(re.fullmatch(targets, m) for m in modules):
            return []
        missing = [targets]
    elif isinstance(targets, list):
        parts = {p for m in modules for p in m.split(".")}
        missing = [t for t in targets if isinstance(t, str) and t not in parts and t not in modules]
    else:
        return []
    if not missing:
        return []
    return [
        finding(
            "adapter-target-missing",
            Severity.HIGH,
            CONFIG,
            f"target modules not in the base: {names(missing)}",
        )
    ]


def _shapes(adapter: WeightSet, config: dict[str, Any], base: WeightSet | None) -> list[Finding]:
    out: list[Finding] = []
    unknown: list[str] = []
    for name in sorted(adapter.where):
        m = LORA.match(name)
        if m is None:
            continue
        shape = adapter.info(name).shape
        module, is_a = m["module"], m["ab"] == "A"
        r = _rank(module, config)
        problem = None
        if len(shape) != 2:
            problem = f"is {list(shape)}, not a matrix"
        elif r is not None and (shape[0] if is_a else shape[1]) != r:
            problem = f"is {list(shape)} but r is {r}"
        elif base is not None:
            target = _base_tensor(module, base)
            if target is None:
                unknown.append(module.removeprefix(PEFT_PREFIX))
                continue
            dims = base.info(target).shape
            side = shape[1] if is_a else shape[0]
            if len(dims) != 2 or side not in dims:
                problem = f"is {list(shape)} but the base {target} is {list(dims)}"
        if problem:
            out.append(
                finding(
                    "adapter-shape",
                    Severity.HIGH,
                    ADAPTER_WEIGHTS,
                    f"{name} {problem}",
                    location=name,
                )
            )
    if unknown:
        out.append(
            finding(
                "adapter-target-missing",
                Severity.HIGH,
                ADAPTER_WEIGHTS,
                f"{len(set(unknown))} adapted modules have no weight in the base: "
                f"{names(sorted(set(unknown)))}",
            )
        )
    return out


def _untrained(adapter: WeightSet, nonzero: Collection[str]) -> list[Finding]:
    b_names = b_matrices(adapter)
    if not b_names:
        return []
    for name in b_names:
        if adapter.info(name).is_float and name in nonzero:
            return []
    return [
        finding(
            "adapter-untrained",
            Severity.MEDIUM,
            ADAPTER_WEIGHTS,
            f"all {len(b_names)} LoRA B matrices are zero: the adapter changes nothing (untrained)",
        )
    ]
