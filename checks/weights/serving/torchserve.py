"""TorchServe ``.mar`` archives: the handler and model code the manifest makes TorchServe import."""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

from checks.findings import Severity
from checks.io.source import BytesSource
from checks.weights.context import ScanContext

MANIFEST = "MAR-INF/MANIFEST.json"
REQUIREMENTS = "torchserve-requirements"
MISSING_HANDLER = "torchserve-handler-missing"
# Handlers TorchServe ships (ts.torch_handler.*); a manifest naming one runs no archive code.
BUILT_IN_HANDLERS = frozenset(
    {"image_classifier", "image_segmenter", "object_detector", "text_classifier", "base_handler"}
)


def report_mar(ctx: ScanContext, manifest: bytes | None, code: dict[str, bytes]) -> None:
    """Scan the handler, the model file and every other ``.py`` TorchServe can import."""
    from checks.weights.code.python import scan_loader_code

    model = _model_section(manifest, ctx)
    handler = str(model.get("handler") or "")
    handler_file = _handler_file(handler)
    model_file = str(model.get("modelFile") or model.get("model-file") or "")
    for name, data in sorted(code.items()):
        if name in (handler_file, model_file):
            role = "handler" if name == handler_file else "model file"
            loader = f"TorchServe (the manifest's {role}, imported when the model is served)"
        else:
            loader = "TorchServe (on the handler's import path inside the .mar)"
        scan_loader_code(BytesSource(data), ctx.nested(name), loader)
    if handler_file and handler_file not in code and handler not in BUILT_IN_HANDLERS:
        ctx.report(
            MISSING_HANDLER,
            Severity.HIGH,
            f"the manifest's handler {handler!r} is neither in the archive nor one TorchServe "
            "ships: whatever module of that name the server can import runs",
        )
    requirements = model.get("requirementsFile")
    if isinstance(requirements, str) and requirements:
        ctx.report(
            REQUIREMENTS,
            Severity.MEDIUM,
            f"TorchServe pip-installs {requirements} when install_py_dep_per_model is on: "
            "packages this review cannot see run at install time",
        )


def _model_section(manifest: bytes | None, ctx: ScanContext) -> dict[str, Any]:
    if manifest is None:
        return {}
    try:
        parsed = json.loads(manifest.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        ctx.nested(MANIFEST).report(
            "malformed-config", Severity.MEDIUM, "the TorchServe manifest is not JSON"
        )
        return {}
    model = parsed.get("model") if isinstance(parsed, dict) else None
    return model if isinstance(model, dict) else {}


def _handler_file(handler: str) -> str:
    """``handler.py`` or ``my_handler:entry`` -> the archive member TorchServe imports."""
    module = handler.split(":", 1)[0].strip()
    if not module or module in BUILT_IN_HANDLERS or module.startswith("ts."):
        return ""  # TorchServe's own handlers (ts.torch_handler.*)
    return module if PurePosixPath(module).suffix == ".py" else f"{module}.py"
