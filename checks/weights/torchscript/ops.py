"""The operators and classes TorchScript code names, found in its ``ast`` and graded by a table."""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from checks.findings import Severity
from checks.weights.code.reach import dotted_parts

RULES_FILE = "ops_rules.toml"
_SEVERITIES = {"critical": Severity.CRITICAL, "high": Severity.HIGH}
# How serialised code (and hand-edited code that torch still compiles) spells a library loader.
LOADERS = frozenset({"torch.ops.load_library", "torch.classes.load_library", "ops.load_library"})


@dataclass(frozen=True)
class Reference:
    """One operator (``ns::op``) or custom class (``class ns::Name``) the code names."""

    target: str
    namespace: str
    line: int
    called: bool


@dataclass(frozen=True)
class Danger:
    severity: Severity
    category: str
    reason: str


@dataclass(frozen=True)
class _Rules:
    builtin: frozenset[str]
    network: frozenset[str]
    network_reason: str
    dangerous: dict[str, Danger]


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    raw: dict[str, Any] = tomllib.loads(Path(__file__).with_name(RULES_FILE).read_text("utf-8"))
    spaces = raw["namespaces"]
    dangerous = {
        op: Danger(_SEVERITIES[group["severity"]], group["category"], group["reason"])
        for group in raw["dangerous"]
        for op in group["ops"]
    }
    return _Rules(
        builtin=frozenset(spaces["builtin"]),
        network=frozenset(spaces["network"]["names"]),
        network_reason=spaces["network"]["reason"],
        dangerous=dangerous,
    )


def references(tree: ast.AST) -> list[Reference]:
    """Every operator or class reference, in line order; a chain inside a longer one is skipped."""
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or id(node) in inner:
            continue
        chain = dotted_parts(node)
        ref = _reference(chain, node.lineno, id(node) in called) if chain else None
        if ref is not None:
            found.append(ref)
    return sorted(found, key=lambda r: r.line)


def _reference(chain: list[str], line: int, called: bool) -> Reference | None:
    dotted = ".".join(chain)
    if dotted in LOADERS:
        return Reference("torch::load_library", "torch", line, called)
    if chain[:1] == ["__torch__"]:
        chain = chain[1:]
        if chain[:2] != ["torch", "classes"]:
            return None  # a class the archive itself defines
    if chain[:2] == ["torch", "classes"] and len(chain) >= 4:
        return Reference(f"class {chain[2]}::{chain[3]}", chain[2], line, called)
    if chain[:2] == ["torch", "ops"]:
        chain = chain[1:]
    if chain[:1] == ["ops"] and len(chain) >= 3:
        return Reference(f"{chain[1]}::{chain[2]}", chain[1], line, called)
    if chain[:1] == ["torch"] and len(chain) >= 2 and chain[1] not in ("ops", "classes"):
        # torch.linalg.norm is aten::linalg_norm: the submodule is part of the operator's name
        return Reference("aten::" + "_".join(chain[1:]), "aten", line, called)
    return None


def danger_of(ref: Reference) -> Danger | None:
    """Why calling ``ref`` on load reaches beyond tensors; None for plain tensor maths."""
    rules = _rules()
    hit = rules.dangerous.get(ref.target)
    if hit is not None:
        return hit
    kind = "class" if ref.target.startswith("class ") else "operator"
    if ref.namespace in rules.network:
        return Danger(Severity.HIGH, "network access", rules.network_reason)
    if ref.namespace not in rules.builtin:
        return Danger(
            Severity.HIGH,
            "native code",
            f"a custom {kind} outside torch's own namespaces: it exists only once a native "
            "library registers it, and that library's code runs in the loading process",
        )
    return None
