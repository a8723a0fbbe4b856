"""The TensorFlow ops a SavedModel may not run, read from saved_model_ops.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from checks.findings import Severity

RULES_FILE = "saved_model_ops.toml"


@dataclass(frozen=True)
class Danger:
    severity: Severity
    category: str
    reason: str


@dataclass(frozen=True)
class AttributeRule:
    """An op that is dangerous only when one of its string attributes starts a certain way."""

    attr: str
    prefixes: tuple[str, ...]
    severity: Severity
    reason: str


@dataclass(frozen=True)
class Rules:
    dangerous: dict[str, Danger]
    path_fed: dict[str, int]  # op -> the index of its path input
    path_fed_danger: Danger
    attributes: dict[str, AttributeRule]

    def interesting(self, op: str) -> bool:
        """Whether a node of this op needs its inputs and attributes kept."""
        return op in self.dangerous or op in self.path_fed or op in self.attributes


@lru_cache(maxsize=1)
def rules() -> Rules:
    raw: dict[str, Any] = tomllib.loads(Path(__file__).with_name(RULES_FILE).read_text("utf-8"))
    dangerous = {
        op: Danger(Severity.parse(group["severity"]), group["category"], group["reason"])
        for group in raw["dangerous"]
        for op in group["ops"]
    }
    fed = raw["path_fed"]
    attributes = {
        rule["op"]: AttributeRule(
            rule["attr"], tuple(rule["prefixes"]), Severity.parse(rule["severity"]), rule["reason"]
        )
        for rule in raw["attribute"]
    }
    return Rules(
        dangerous=dangerous,
        path_fed={op: int(index) for op, index in fed["ops"].items()},
        path_fed_danger=Danger(Severity.parse(fed["severity"]), "fixed path", fed["reason"]),
        attributes=attributes,
    )
