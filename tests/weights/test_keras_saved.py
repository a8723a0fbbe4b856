"""Keras 3 archives written by keras.Model.save itself (torch backend): no false alarms on real
models, and the real shapes of Lambda layers and custom layers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from checks.findings import Severity, Verdict
from checks.weights.context import DeferredPolicy
from checks.weights.scanner import FileScan, scan_path

os.environ.setdefault("KERAS_BACKEND", "torch")  # torch is a test dependency; TensorFlow is not
keras = pytest.importorskip("keras")


def save(tmp_path: Path, model: Any, name: str = "model.keras") -> FileScan:
    path = tmp_path / name
    model.save(path)
    return scan_path(path, name, DeferredPolicy())


def test_real_nested_model_with_optimizer_passes(tmp_path: Path) -> None:
    inputs = keras.Input((8, 4))
    x = keras.layers.Conv1D(6, 3, activation="gelu")(inputs)
    x = keras.layers.LayerNormalization()(x)
    block = keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(x), name="block")
    model = keras.Sequential(
        [keras.Input((8, 4)), block, keras.layers.Dropout(0.1), keras.layers.Dense(2, "softmax")]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", metrics=["mae"])
    found = save(tmp_path, model)
    assert found.format == "keras"
    assert found.findings == []


def test_real_lambda_with_bytecode_is_critical(tmp_path: Path) -> None:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda t: t * 2, name="x2")])
    found = save(tmp_path, model)
    assert [(f.rule, f.severity) for f in found.findings] == [("keras-lambda", Severity.CRITICAL)]
    assert "'x2'" in found.findings[0].message and "bytecode" in found.findings[0].message


def test_real_lambda_over_a_keras_function_passes(tmp_path: Path) -> None:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(keras.ops.relu, name="r")])
    found = save(tmp_path, model)
    assert [(f.rule, f.severity) for f in found.findings] == [("keras-lambda", Severity.LOW)]
    assert Verdict.of(f.severity for f in found.findings) is Verdict.PASS


@keras.saving.register_keras_serializable(package="AcmeLayers")
class Gate(keras.layers.Layer):  # type: ignore[misc]
    def call(self, x: Any) -> Any:
        return x * 2


def test_real_custom_layer_names_its_module(tmp_path: Path) -> None:
    found = save(tmp_path, keras.Sequential([keras.Input((3,)), Gate(name="gate")]))
    assert [(f.rule, f.severity) for f in found.findings] == [
        ("keras-external-module", Severity.HIGH)
    ]
    assert __name__ in found.findings[0].message and "'gate'" in found.findings[0].message


def test_real_loss_and_activation_functions_pass(tmp_path: Path) -> None:
    # Keras saves a function object it ships as module "builtins" plus the bare name; that is
    # Keras' own mean_squared_error, looked up by name, not Python's builtins.
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2, activation=keras.activations.silu)]
    )
    model.compile(optimizer="sgd", loss=keras.losses.mean_squared_error)
    assert save(tmp_path, model).findings == []
