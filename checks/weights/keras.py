"""Keras model configs (.keras config.json, HDF5 model_config): Lambda layers and outside code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.weights.context import ScanContext

LAMBDA = "keras-lambda"
EXTERNAL = "keras-external-module"
INVALID = "keras-invalid"
MAX_NODES = 1_000_000  # dicts and lists walked in one config
MAX_REPORTED = 20

# Modules Keras and TensorFlow ship; anything else is code the loader imports from elsewhere.
OWN_MODULES = ("keras", "tf_keras", "tensorflow", "tensorflow_addons")
# Modules whose functions run commands or code when a config names them.
DANGEROUS_MODULES = frozenset(
    [
        "builtins",
        "os",
        "posix",
        "nt",
        "subprocess",
        "sys",
        "shutil",
        "importlib",
        "runpy",
        "socket",
        "pickle",
        "marshal",
        "code",
        "codeop",
        "pty",
        "ctypes",
        "webbrowser",
    ]
)
# Keras' own functions that touch files or the network when deserialized (known bypasses).
KERAS_GADGETS = frozenset({"get_file", "load_model", "load_weights", "save_model"})
# Serialized plain Python lambdas: marshalled bytecode, run on load once safe_mode is off.
LAMBDA_CLASSES = frozenset({"Lambda", "__lambda__"})


def scan_keras_config(data: bytes, ctx: ScanContext) -> None:
    """A ``.keras`` archive's config.json."""
    scan_config_text(data, ctx, "config.json")


def _detail(ctx: ScanContext, where: str) -> str | None:
    # Inside a .keras archive the trail already ends in config.json; don't say it twice.
    return None if ctx.trail and ctx.trail[-1] == where else where


def scan_config_text(data: bytes, ctx: ScanContext, where: str) -> None:
    if len(data) > ctx.limits.max_config_bytes:
        raise LimitExceeded(f"Keras {where} of {len(data)} bytes")
    try:
        config = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        ctx.report(
            INVALID,
            Severity.HIGH,
            f"the Keras {where} is not valid JSON ({type(exc).__name__}); a loader may misread "
            "it and it cannot be checked",
            detail=_detail(ctx, where),
        )
        return
    reported = 0
    for severity, rule, message in _findings(config):
        if reported < MAX_REPORTED:
            ctx.report(rule, severity, message, detail=_detail(ctx, where))
        reported += 1
    if reported > MAX_REPORTED:
        ctx.report(EXTERNAL, Severity.HIGH, f"{reported - MAX_REPORTED} more findings not listed")


def _findings(config: Any) -> Iterator[tuple[Severity, str, str]]:
    for path, node in _objects(config):
        yield from _check_object(path, node)


def _objects(config: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every dict in the config with its path, iteratively; stops below Lambda layers."""
    stack: list[tuple[str, Any]] = [("", config)]
    walked = 0
    while stack:
        path, node = stack.pop()
        walked += 1
        if walked > MAX_NODES:
            raise LimitExceeded(f"Keras config with more than {MAX_NODES} objects")
        if isinstance(node, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(node))
        elif isinstance(node, dict):
            yield path, node
            if node.get("class_name") not in LAMBDA_CLASSES:  # already critical; skip its code
                stack.extend((f"{path}.{key}", value) for key, value in node.items())


def _check_object(path: str, node: dict[str, Any]) -> Iterator[tuple[Severity, str, str]]:
    class_name = node.get("class_name")
    label = _label(path, node)
    if class_name in LAMBDA_CLASSES:
        yield (
            Severity.CRITICAL,
            LAMBDA,
            f"{label} is a Lambda: it carries marshalled Python bytecode that Keras runs on load "
            "when safe_mode is off",
        )
        return
    module = node.get("module")
    if isinstance(module, str) and module and class_name is not None:
        yield from _check_module(label, module, class_name)
    registered = node.get("registered_name")
    # Built-ins carry no registered name, their class name, or (functions) their own name.
    if isinstance(registered, str) and registered not in (class_name, node.get("config"), ""):
        yield (
            Severity.HIGH,
            EXTERNAL,
            f"{label} is registered as {registered!r}: custom code the loader must import",
        )


def _check_module(label: str, module: str, class_name: Any) -> Iterator[tuple[Severity, str, str]]:
    root = module.split(".", 1)[0]
    if root in DANGEROUS_MODULES:
        yield (
            Severity.CRITICAL,
            EXTERNAL,
            f"{label} names {module}.{class_name}: loading the model calls into {root}",
        )
    elif root not in OWN_MODULES:
        yield (
            Severity.HIGH,
            EXTERNAL,
            f"{label} comes from module {module!r}, outside Keras: loading imports that code",
        )
    elif class_name in KERAS_GADGETS:
        yield (
            Severity.HIGH,
            EXTERNAL,
            f"{label} calls {module}.{class_name}, which reaches files or the network on load",
        )


def _label(path: str, node: dict[str, Any]) -> str:
    config = node.get("config")
    name = config.get("name") if isinstance(config, dict) else None
    kind = node.get("class_name", "object")
    return f"{kind} {name!r}" if isinstance(name, str) else f"{kind} at {path or 'the root'}"
