"""The pickle globals TorchScript's own unpickler resolves without importing anything."""

from __future__ import annotations

from typing import Any

from checks.findings import Severity
from checks.weights.imports import Verdict

# torch.jit.load's C++ unpickler builds these itself (lists, type tags); no Python is imported.
JIT_PICKLE_BUILDERS = frozenset(
    {
        "build_intlist",
        "build_tensorlist",
        "build_doublelist",
        "build_boollist",
        "build_tensor_from_id",
        "restore_type_tag",
    }
)
_BUILT_IN = "built by TorchScript's own unpickler; nothing is imported"
_OWN_CLASS = "a class compiled from the archive's TorchScript code, not imported"


class TorchScriptPolicy:
    """Grades the pickles of a TorchScript archive: its own classes and builders pass, every
    other global is graded by the ordinary policy (a loader other than torch.jit.load would
    import it)."""

    def __init__(self, base: Any) -> None:
        self.base = base

    def classify(self, module: str, name: str) -> Verdict:
        full = f"{module}.{name}"
        if module == "torch.jit._pickle" and name in JIT_PICKLE_BUILDERS:
            return Verdict(Severity.INFO, "allowed", _BUILT_IN, full)
        if module == "__torch__" or module.startswith("__torch__."):
            if module.startswith("__torch__.torch.classes"):
                return self._custom_class(module, name, full)
            if "." not in name:
                return Verdict(Severity.INFO, "allowed", _OWN_CLASS, full)
        verdict: Verdict = self.base.classify(module, name)
        return verdict

    def _custom_class(self, module: str, name: str, full: str) -> Verdict:
        from checks.weights.torchscript.ops import Reference, danger_of

        namespace = module.split(".")[3] if module.count(".") >= 3 else ""
        danger = danger_of(Reference(f"class {namespace}::{name}", namespace, 0, False))
        if danger is None:
            return Verdict(Severity.INFO, "allowed", "a C++ class torch itself registers", full)
        return Verdict(Severity.HIGH, "unknown", danger.reason, full)
