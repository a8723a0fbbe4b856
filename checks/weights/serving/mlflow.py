"""MLflow's ``MLmodel``: the module ``mlflow.pyfunc.load_model`` imports, the code it puts on the
path, and the flavours it unpickles with cloudpickle."""

from __future__ import annotations

from typing import Any

from checks.findings import Severity
from checks.io.source import ByteSource
from checks.weights.context import ScanContext
from checks.weights.serving.yaml_tree import NotYaml, load_yaml

MLMODEL = "MLmodel"
LOADER = "mlflow-loader-module"
CODE_PATHS = "mlflow-code-paths"
PICKLED_FLAVOR = "mlflow-pickled-model"
# pyfunc's own model class unpickles the user's PythonModel (python_model.pkl) with cloudpickle.
_PYFUNC_MODEL = "mlflow.pyfunc.model"


def scan_mlmodel(source: ByteSource, ctx: ScanContext) -> None:
    try:
        tree = load_yaml(source, ctx.limits.max_config_bytes)
    except NotYaml as exc:
        ctx.report("malformed-config", Severity.MEDIUM, f"MLmodel is not YAML MLflow reads ({exc})")
        return
    flavors = tree.get("flavors") if isinstance(tree, dict) else None
    if not isinstance(flavors, dict):
        return
    for flavor, conf in flavors.items():
        if isinstance(conf, dict):
            _flavor(str(flavor), conf, ctx)


def _flavor(flavor: str, conf: dict[Any, Any], ctx: ScanContext) -> None:
    where = f"flavors.{flavor}"
    module = conf.get("loader_module")
    if isinstance(module, str):
        _loader_module(module, conf, where, ctx)
    paths = [p for p in _strings(conf.get("code")) + _strings(conf.get("code_paths")) if p]
    if paths:
        ctx.report(
            CODE_PATHS,
            Severity.MEDIUM,
            f"MLflow puts {', '.join(paths)} on the import path before it loads the "
            f"{flavor} flavour; the loader imports modules from there",
            detail=where,
            paths=paths,
        )
    if str(conf.get("serialization_format", "")).lower() == "cloudpickle":
        pickled = conf.get("pickled_model") or conf.get("data") or "the model file"
        ctx.report(
            PICKLED_FLAVOR,
            Severity.HIGH,
            f"the {flavor} flavour loads {pickled} with cloudpickle: the code it carries runs "
            "on load",
            detail=where,
        )


def _loader_module(module: str, conf: dict[Any, Any], where: str, ctx: ScanContext) -> None:
    if module == _PYFUNC_MODEL and conf.get("python_model"):
        ctx.report(
            PICKLED_FLAVOR,
            Severity.HIGH,
            f"mlflow.pyfunc.load_model imports {module} and unpickles {conf['python_model']} "
            "with cloudpickle: the model's Python class runs on load",
            detail=where,
            module=module,
        )
    elif not module.startswith("mlflow."):
        ctx.report(
            LOADER,
            Severity.HIGH,
            f"mlflow.pyfunc.load_model imports {module} (the loader_module) and calls its "
            "_load_pyfunc: code outside MLflow runs on load",
            detail=where,
            module=module,
        )


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []
