"""Keras model configs (.keras config.json, HDF5 model_config): Lambda layers and outside code."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator
from typing import Any

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.weights.context import ScanContext

LAMBDA = "keras-lambda"
EXTERNAL = "keras-external-module"
INVALID = "keras-invalid"
DUPLICATE = "keras-duplicate-key"
FILE = "keras-external-file"
MAX_NODES = 1_000_000  # dicts and lists walked in one config
MAX_REPORTED = 20
MAX_MODEL_DEPTH = 32  # models inside models; Keras itself has no bound
MAX_SHOWN = 200  # characters of a path or URL quoted in a message

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
# Containers of layers: findings inside them name the models they sit in.
MODEL_CLASSES = frozenset({"Functional", "Sequential", "Model"})
# Layers whose config names a file or URL that the loader reads when it rebuilds them.
FILE_FIELDS = {
    "StringLookup": "vocabulary",
    "IntegerLookup": "vocabulary",
    "TextVectorization": "vocabulary",
    "TFSMLayer": "filepath",
}


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
        config, other, repeated = _parse(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        ctx.report(
            INVALID,
            Severity.HIGH,
            f"the Keras {where} is not valid JSON ({type(exc).__name__}); a loader may misread "
            "it and it cannot be checked",
            detail=_detail(ctx, where),
        )
        return
    if repeated:
        keys = sorted(set(repeated))
        ctx.report(
            DUPLICATE,
            Severity.HIGH,
            f"the Keras {where} repeats the key(s) {', '.join(map(repr, keys[:5]))}: Python's "
            "json keeps the last value and other parsers the first, so what a reviewer or tool "
            "reads may not be what Keras loads (both values are checked)",
            detail=_detail(ctx, where),
        )
    reported = 0
    seen: set[str] = set()
    # With repeated keys both readings are checked: another parser would load the first.
    for severity, rule, message in _findings(config if other is None else [config, other]):
        if message in seen:
            continue
        seen.add(message)
        if reported < MAX_REPORTED:
            ctx.report(rule, severity, message, detail=_detail(ctx, where))
        reported += 1
    if reported > MAX_REPORTED:
        ctx.report(EXTERNAL, Severity.HIGH, f"{reported - MAX_REPORTED} more findings not listed")


def _parse(text: str) -> tuple[Any, Any, list[str]]:
    """The config as json.loads (and so Keras) reads it, keeping a repeated key's last value;
    as a parser that keeps the first would read it (None when no key repeats); the keys."""
    repeated: list[str] = []

    def last_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                repeated.append(key)
            out[key] = value
        return out

    def first_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            out.setdefault(key, value)
        return out

    config = json.loads(text, object_pairs_hook=last_wins)
    other = json.loads(text, object_pairs_hook=first_wins) if repeated else None
    return config, other, repeated


def _findings(config: Any) -> Iterator[tuple[Severity, str, str]]:
    for path, node, models in _objects(config):
        yield from _check_object(path, node, models)


def _objects(config: Any) -> Iterator[tuple[str, dict[str, Any], tuple[str, ...]]]:
    """Every dict in the config with its path and the models it sits in, iteratively; stops
    below Lambda layers (one finding says what their function is)."""
    stack: list[tuple[str, Any, tuple[str, ...]]] = [("", config, ())]
    walked = 0
    while stack:
        path, node, models = stack.pop()
        walked += 1
        if walked > MAX_NODES:
            raise LimitExceeded(f"Keras config with more than {MAX_NODES} objects")
        if isinstance(node, list):
            stack.extend((f"{path}[{i}]", item, models) for i, item in enumerate(node))
        elif isinstance(node, dict):
            yield path, node, models
            class_name = _class_name(node)
            if class_name in LAMBDA_CLASSES:
                continue
            inside = models
            if class_name in MODEL_CLASSES:
                inside = (*models, _name(node) or class_name)
                if len(inside) > MAX_MODEL_DEPTH:
                    raise LimitExceeded(f"Keras models nested deeper than {MAX_MODEL_DEPTH}")
            # tf.keras metadata repeats a model's own config under model_config: not a new level.
            stack.extend(
                (f"{path}.{key}", value, models if key == "model_config" else inside)
                for key, value in node.items()
            )


def _check_object(
    path: str, node: dict[str, Any], models: tuple[str, ...]
) -> Iterator[tuple[Severity, str, str]]:
    class_name = _class_name(node)
    label = _label(path, node, models)
    if class_name == "Lambda":
        yield _lambda(label, node)
        return
    if class_name == "__lambda__":
        yield (Severity.CRITICAL, LAMBDA, f"{label} {BYTECODE}")
        return
    if class_name in FILE_FIELDS:
        yield from _file_field(label, class_name, node)
    module = node.get("module")
    outside = False  # already reported as code from outside Keras: its registration adds nothing
    if isinstance(module, str) and module and class_name is not None:
        if _keras_function_by_name(module, class_name, node.get("config")):
            return
        outside = module.split(".", 1)[0] not in OWN_MODULES
        yield from _check_module(label, module, class_name)
    registered = node.get("registered_name")
    if class_name is not None and ">" in class_name:  # tf.keras: "Package>Name" as the class
        registered = class_name
    elif registered in (class_name, node.get("config"), ""):
        registered = None  # built-ins: no registered name, their class name, or their own name
    if isinstance(registered, str) and not outside:
        package = registered.split(">", 1)[0] if ">" in registered else None
        source = f" (package {package!r})" if package else ""
        yield (
            Severity.HIGH,
            EXTERNAL,
            f"{label} is registered as {registered!r}{source}: custom code the loader must import",
        )


BYTECODE = (
    "carries marshalled Python bytecode (base64): Keras runs it on load when safe_mode is off"
)


def _lambda(label: str, node: dict[str, Any]) -> tuple[Severity, str, str]:
    """A Lambda layer: bytecode of its own, or a reference to a function defined elsewhere."""
    config = node.get("config")
    config = config if isinstance(config, dict) else {}
    function = config.get("function")
    if isinstance(function, dict) and function.get("class_name") == "function":
        # Keras 3: {"module": "os", "class_name": "function", "config": "system"}
        reference = (function.get("module"), function.get("config"))
    elif config.get("function_type") == "function":  # tf.keras: the name and module side by side
        reference = (config.get("module"), function)
    else:
        reference = None
    shape = config.get("output_shape")
    shape_code = config.get("output_shape_type") == "lambda" or (
        isinstance(shape, dict) and shape.get("class_name") == "__lambda__"
    )
    if reference is None or shape_code:
        return (Severity.CRITICAL, LAMBDA, f"{label} {BYTECODE}")
    module, name = (str(part) if part is not None else "?" for part in reference)
    called = f"{module}.{name}"
    root = module.split(".", 1)[0]
    if _keras_function_by_name(module, "function", name):
        severity, why = Severity.LOW, "a function Keras ships, looked up by name"
    elif root in DANGEROUS_MODULES:
        severity, why = Severity.CRITICAL, f"loading imports {root} and every call runs it"
    elif root in OWN_MODULES:
        severity, why = Severity.LOW, "a function Keras or TensorFlow ship"
    else:
        severity, why = Severity.HIGH, f"loading imports module {module!r}, outside Keras"
    return (
        severity,
        LAMBDA,
        f"{label} calls {called} by reference (no bytecode): {why}",
    )


def _keras_function_by_name(module: str, class_name: Any, name: Any) -> bool:
    """Keras saves its own functions (relu, mse) as module "builtins" plus the bare name and
    finds them among its activations and losses; a name Python's builtins define (exec, eval)
    is what older Keras versions imported from builtins and ran."""
    return (
        module == "builtins"
        and class_name == "function"
        and isinstance(name, str)
        and not hasattr(builtins, name)
    )


def _file_field(
    label: str, class_name: str, node: dict[str, Any]
) -> Iterator[tuple[Severity, str, str]]:
    config = node.get("config")
    key = FILE_FIELDS[class_name]
    value = config.get(key) if isinstance(config, dict) else None
    if not isinstance(value, str) or not value:
        return  # an inline vocabulary (a list) or none
    shown = repr(value[:MAX_SHOWN] + ("…" if len(value) > MAX_SHOWN else ""))
    if class_name == "TFSMLayer":
        yield (
            Severity.HIGH,
            FILE,
            f"{label} loads the TensorFlow SavedModel at {shown}: its graph runs inside this "
            "model, and it is not part of this file",
        )
        return
    problem = _path_problem(value)
    if problem is None:
        yield (
            Severity.MEDIUM,
            FILE,
            f"{label} reads its {key} from the file {shown}, relative to wherever the loader "
            "runs, not from the model",
        )
    else:
        yield (
            Severity.HIGH,
            FILE,
            f"{label} reads its {key} from {shown}, {problem}, when the model is loaded",
        )


def _path_problem(value: str) -> str | None:
    if "://" in value:
        return "a URL: the loader fetches it over the network"
    path = value.replace("\\", "/")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return "an absolute path on the loading machine"
    if ".." in path.split("/"):
        return "a path that climbs out with '..'"
    return None


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


def _class_name(node: dict[str, Any]) -> str | None:
    """A hand-edited config may put anything under class_name; only a string names a class."""
    class_name = node.get("class_name")
    return class_name if isinstance(class_name, str) else None


def _name(node: dict[str, Any]) -> str | None:
    config = node.get("config")
    name = config.get("name") if isinstance(config, dict) else None
    return name if isinstance(name, str) else None


def _label(path: str, node: dict[str, Any], models: tuple[str, ...] = ()) -> str:
    name = _name(node)
    kind = node.get("class_name", "object")
    label = f"{kind} {name!r}" if name is not None else f"{kind} at {path or 'the root'}"
    if models:
        label += " in model " + " in ".join(repr(m) for m in reversed(models))
    return label
