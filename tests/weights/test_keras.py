"""Keras configs: .keras config.json and HDF5 model_config, built by hand like real saves."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from checks.findings import Severity
from checks.io.source import BytesSource, LocalFile
from checks.weights.context import ScanContext
from checks.weights.hdf5 import scan_hdf5
from checks.weights.keras import scan_keras_config
from tests.weights.keras_configs import DENSE, K3_LAMBDA, k3_layer, keras3_model

TF2_MODEL = {
    "class_name": "Functional",
    "config": {
        "name": "model",
        "layers": [
            {
                "class_name": "InputLayer",
                "config": {"name": "input_1", "dtype": "float32", "batch_input_shape": [None, 3]},
                "name": "input_1",
                "inbound_nodes": [],
            },
            {
                "class_name": "Dense",
                "config": {
                    "name": "dense",
                    "units": 2,
                    "activation": "relu",
                    "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
                },
                "name": "dense",
                "inbound_nodes": [[["input_1", 0, 0, {}]]],
            },
        ],
        "input_layers": [["input_1", 0, 0]],
        "output_layers": [["dense", 0, 0]],
    },
}
TF2_LAMBDA = {
    "class_name": "Lambda",
    "config": {
        "name": "lambda",
        "function": ["4wEAAAAAAAAA", None, None],
        "function_type": "lambda",
        "module": "__main__",
        "output_shape": None,
    },
    "name": "lambda",
    "inbound_nodes": [[["dense", 0, 0, {}]]],
}


def check_config(config: Any) -> ScanContext:
    ctx = ScanContext(path="m.keras", policy=None)
    scan_keras_config(json.dumps(config).encode(), ctx)
    return ctx


def rules(ctx: ScanContext) -> list[tuple[str, Severity]]:
    return [(f.rule, f.severity) for f in ctx.findings]


def test_keras3_model_passes() -> None:
    assert check_config(keras3_model(DENSE)).findings == []


def test_keras3_archive_config_passes(tmp_path: Path) -> None:
    archive = tmp_path / "m.keras"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.6.0"}))
        zf.writestr("config.json", json.dumps(keras3_model(DENSE)))
    with zipfile.ZipFile(archive) as zf:
        ctx = ScanContext(path="m.keras", policy=None)
        scan_keras_config(zf.read("config.json"), ctx)
    assert ctx.findings == []


def test_lambda_nested_in_functional_is_critical() -> None:
    ctx = check_config(keras3_model(DENSE, K3_LAMBDA))
    assert rules(ctx) == [("keras-lambda", Severity.CRITICAL)]
    assert "'lambda'" in ctx.findings[0].message


def test_external_module_is_high() -> None:
    custom = k3_layer("Attention", {"name": "attn"}, module="my_project.layers")
    ctx = check_config(keras3_model(custom))
    assert rules(ctx) == [("keras-external-module", Severity.HIGH)]
    assert "my_project.layers" in ctx.findings[0].message


def test_registered_custom_object_is_high() -> None:
    custom = k3_layer("Gate", {"name": "gate"}, module="keras.layers")
    custom["registered_name"] = "MyPackage>Gate"
    assert rules(check_config(keras3_model(custom))) == [("keras-external-module", Severity.HIGH)]


def test_builtins_function_is_critical() -> None:
    payload = {
        "module": "builtins",
        "class_name": "function",
        "config": "exec",
        "registered_name": "exec",
    }
    layer = k3_layer("Dense", {"name": "d", "activation": payload})
    assert rules(check_config(keras3_model(layer))) == [
        ("keras-external-module", Severity.CRITICAL)
    ]


def test_keras_file_download_gadget_is_high() -> None:
    gadget = {
        "module": "keras.utils",
        "class_name": "get_file",
        "config": {"origin": "x"},
        "registered_name": None,
    }
    assert rules(check_config(keras3_model(k3_layer("Dense", {"name": "d", "bias": gadget})))) == [
        ("keras-external-module", Severity.HIGH)
    ]


def test_malformed_config_is_high() -> None:
    ctx = ScanContext(path="m.keras", policy=None)
    scan_keras_config(b'{"class_name": ', ctx)
    assert rules(ctx) == [("keras-invalid", Severity.HIGH)]


def write_h5(path: Path, model_config: str | bytes | None) -> None:
    with h5py.File(path, "w") as handle:
        if model_config is not None:
            handle.attrs["model_config"] = model_config
            handle.attrs["keras_version"] = "2.15.0"
        handle.create_group("model_weights").create_dataset("w", data=np.zeros((2, 2)))


def scan_h5(path: Path) -> ScanContext:
    ctx = ScanContext(path="m.h5", policy=None)
    with LocalFile(path) as source:
        scan_hdf5(source, ctx)
    return ctx


def test_tf2_h5_model_passes(tmp_path: Path) -> None:
    write_h5(tmp_path / "m.h5", json.dumps(TF2_MODEL).encode())
    assert scan_h5(tmp_path / "m.h5").findings == []


def test_tf2_h5_lambda_is_critical_as_bytes_or_str(tmp_path: Path) -> None:
    model = json.loads(json.dumps(TF2_MODEL))
    model["config"]["layers"].append(TF2_LAMBDA)
    for value in (json.dumps(model), json.dumps(model).encode()):
        write_h5(tmp_path / "m.h5", value)
        assert rules(scan_h5(tmp_path / "m.h5")) == [("keras-lambda", Severity.CRITICAL)]


def test_weights_only_h5_passes(tmp_path: Path) -> None:
    write_h5(tmp_path / "w.h5", None)
    assert scan_h5(tmp_path / "w.h5").findings == []


def test_h5_with_malformed_config_is_high(tmp_path: Path) -> None:
    write_h5(tmp_path / "m.h5", "{not json")
    assert rules(scan_h5(tmp_path / "m.h5")) == [("keras-invalid", Severity.HIGH)]


def test_unreadable_hdf5_is_high() -> None:
    ctx = ScanContext(path="m.h5", policy=None)
    scan_hdf5(BytesSource(b"\x89HDF\r\n\x1a\n" + b"\xff" * 64), ctx)
    assert rules(ctx) == [("keras-invalid", Severity.HIGH)]
