"""Keras configs: .keras config.json and HDF5 model_config, built by hand like real saves."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from checks.findings import Severity
from checks.io.source import BytesSource, LocalFile
from checks.weights.context import DeferredPolicy, ScanContext
from checks.weights.hdf5 import scan_hdf5
from checks.weights.keras import scan_keras_config
from checks.weights.scanner import scan_path
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


def keras_archive(path: Path, config_text: str | bytes) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        zf.writestr("config.json", config_text)
        zf.writestr("model.weights.h5", b"")
    return path


def scan_archive(path: Path) -> list[tuple[str, Severity]]:
    return sorted(
        (f.rule, f.severity) for f in scan_path(path, path.name, DeferredPolicy()).findings
    )


def test_duplicate_key_fails_and_the_hidden_value_is_checked(tmp_path: Path) -> None:
    # json.loads (Keras) keeps the last "layers"; a parser that keeps the first loads the Lambda.
    benign = json.dumps([DENSE])
    hostile = json.dumps([DENSE, K3_LAMBDA])
    text = (
        '{"module": "keras", "class_name": "Sequential", "config": {"name": "s", '
        f'"layers": {hostile}, "layers": {benign}}}, "registered_name": null}}'
    )
    assert json.loads(text)["config"]["layers"] == [DENSE]
    ctx = ScanContext(path="m.keras", policy=None)
    scan_keras_config(text.encode(), ctx)
    assert sorted(rules(ctx)) == [
        ("keras-duplicate-key", Severity.HIGH),
        ("keras-lambda", Severity.CRITICAL),
    ]
    assert "'layers'" in ctx.findings[0].message


def test_repeated_class_name_fails_even_when_both_readings_are_benign() -> None:
    ctx = ScanContext(path="m.keras", policy=None)
    scan_keras_config(b'{"class_name": "Dense", "class_name": "Dense", "config": {}}', ctx)
    assert rules(ctx) == [("keras-duplicate-key", Severity.HIGH)]


@pytest.mark.parametrize(
    ("vocabulary", "severity", "said"),
    [
        ("https://example.invalid/vocab.txt", Severity.HIGH, "URL"),
        ("gs://bucket/vocab.txt", Severity.HIGH, "URL"),
        ("/etc/passwd", Severity.HIGH, "absolute path"),
        ("../../secrets.txt", Severity.HIGH, "'..'"),
        ("vocab.txt", Severity.MEDIUM, "relative to wherever the loader runs"),
    ],
)
def test_lookup_vocabulary_from_a_file_or_url(
    vocabulary: str, severity: Severity, said: str
) -> None:
    layer = k3_layer("StringLookup", {"name": "lookup", "vocabulary": vocabulary})
    ctx = check_config(keras3_model(layer))
    assert rules(ctx) == [("keras-external-file", severity)]
    assert said in ctx.findings[0].message and "'lookup'" in ctx.findings[0].message


def test_inline_vocabulary_passes() -> None:
    for class_name in ("StringLookup", "IntegerLookup", "TextVectorization"):
        layer = k3_layer(class_name, {"name": "v", "vocabulary": ["a", "b"]})
        assert check_config(keras3_model(layer)).findings == []


def test_tfsm_layer_loading_an_outside_saved_model_is_high() -> None:
    layer = k3_layer("TFSMLayer", {"name": "tfsm", "filepath": "/models/other"})
    ctx = check_config(keras3_model(layer))
    assert rules(ctx) == [("keras-external-file", Severity.HIGH)]
    assert "'/models/other'" in ctx.findings[0].message


def test_registered_package_is_named() -> None:
    custom = k3_layer("Gate", {"name": "gate"}, module="keras.layers")
    custom["registered_name"] = "AcmeLayers>Gate"
    ctx = check_config(keras3_model(custom))
    assert "package 'AcmeLayers'" in ctx.findings[0].message
    # tf.keras writes the registration into class_name itself.
    legacy = {"class_name": "AcmeLayers>Gate", "config": {"name": "gate"}}
    assert rules(check_config({"class_name": "Functional", "config": {"layers": [legacy]}})) == [
        ("keras-external-module", Severity.HIGH)
    ]


def test_outside_module_is_reported_once_not_again_for_its_registration() -> None:
    custom = k3_layer("Gate", {"name": "gate"}, module="acme.layers")
    custom["registered_name"] = "Acme>Gate"
    ctx = check_config(keras3_model(custom))
    assert rules(ctx) == [("keras-external-module", Severity.HIGH)]
    assert "'acme.layers'" in ctx.findings[0].message


def test_findings_name_the_models_a_layer_sits_in() -> None:
    ctx = check_config(keras3_model(DENSE, K3_LAMBDA))
    assert "in model 'inner' in 'sequential'" in ctx.findings[0].message


def lambda_with(function: Any) -> Any:
    return k3_layer("Lambda", {"name": "lam", "function": function, "arguments": {}})


def reference(module: str, name: str) -> dict[str, Any]:
    return {"module": module, "class_name": "function", "config": name, "registered_name": None}


@pytest.mark.parametrize(
    ("function", "severity", "said"),
    [
        (K3_LAMBDA["config"]["function"], Severity.CRITICAL, "marshalled Python bytecode"),
        (reference("os", "system"), Severity.CRITICAL, "calls os.system by reference"),
        (reference("builtins", "exec"), Severity.CRITICAL, "calls builtins.exec by reference"),
        (reference("acme.ops", "gate"), Severity.HIGH, "module 'acme.ops', outside Keras"),
        (reference("keras.src.ops.nn", "relu"), Severity.LOW, "Keras or TensorFlow ship"),
        # How Keras 3 saves Lambda(keras.ops.relu): resolved among its own activations by name.
        (reference("builtins", "relu"), Severity.LOW, "looked up by name"),
    ],
)
def test_lambda_bytecode_is_told_from_a_function_reference(
    function: Any, severity: Severity, said: str
) -> None:
    ctx = check_config(keras3_model(lambda_with(function)))
    assert rules(ctx) == [("keras-lambda", severity)]
    assert said in ctx.findings[0].message
    assert ("no bytecode" in ctx.findings[0].message) is (said != "marshalled Python bytecode")


def test_tf_keras_lambda_forms() -> None:
    by_name = {
        "class_name": "Lambda",
        "config": {"name": "l", "function": "gate", "function_type": "function", "module": "acme"},
    }
    model = {"class_name": "Functional", "config": {"name": "m", "layers": [by_name, TF2_LAMBDA]}}
    ctx = check_config(model)
    assert sorted(rules(ctx)) == [
        ("keras-lambda", Severity.HIGH),
        ("keras-lambda", Severity.CRITICAL),
    ]
    assert any("calls acme.gate by reference" in f.message for f in ctx.findings)


def test_models_nested_past_the_bound_stop_the_scan(tmp_path: Path) -> None:
    model: Any = keras3_model(DENSE)
    for depth in range(40):
        model = k3_layer("Functional", {"name": f"m{depth}", "layers": [model]})
    path = keras_archive(tmp_path / "deep.keras", json.dumps(model))
    assert ("limit-exceeded", Severity.HIGH) in scan_archive(path)
