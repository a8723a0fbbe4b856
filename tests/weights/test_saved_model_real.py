"""SavedModels written by TensorFlow itself, where it is installed (it is not a test dependency:
tests/weights/test_saved_model.py covers the same graphs assembled by hand)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from checks.findings import Severity
from checks.weights.context import DeferredPolicy
from checks.weights.scanner import scan_path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow", reason="tensorflow is not installed")


def scan(folder: Path, name: str = "saved_model.pb") -> list[tuple[str, Severity, str]]:
    found = scan_path(folder / name, f"{folder.name}/{name}", DeferredPolicy())
    assert found.format in ("saved-model", "keras-metadata")
    return [(f.rule, f.severity, f.message) for f in found.findings]


def test_plain_module_and_vocabulary_table_pass(tmp_path: Path) -> None:
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("a\nb\n")

    class Model(tf.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            self.w = tf.Variable(tf.ones([3, 2]))
            init = tf.lookup.TextFileInitializer(str(vocab), tf.string, -2, tf.int64, -1)
            self.table = tf.lookup.StaticHashTable(init, -1)

        @tf.function(input_signature=[tf.TensorSpec([None, 3]), tf.TensorSpec([None], tf.string)])
        def __call__(self, x: Any, words: Any) -> Any:
            return tf.matmul(x, self.w), self.table.lookup(words)

    tf.saved_model.save(Model(), str(tmp_path / "plain"))
    assert scan(tmp_path / "plain") == []


def test_file_writes_reads_prints_and_py_functions_are_found(tmp_path: Path) -> None:
    class Model(tf.Module):  # type: ignore[misc,name-defined]
        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def __call__(self, x: Any) -> Any:
            tf.io.write_file("/tmp/written-by-the-model", x)
            tf.print(x, output_stream="file:///tmp/printed-by-the-model")
            doubled = tf.py_function(lambda v: v, [x], tf.string)
            return tf.io.read_file("/etc/hostname"), doubled

    tf.saved_model.save(Model(), str(tmp_path / "hostile"))
    found = scan(tmp_path / "hostile")
    messages = " ".join(message for _, _, message in found)
    assert "WriteFile (on '/tmp/written-by-the-model')" in messages
    assert "file:///tmp/printed-by-the-model" in messages
    assert "EagerPyFunc" in messages and "ReadFile" in messages
    assert max(severity for _, severity, _ in found) is Severity.CRITICAL


def test_tf1_saver_and_asset_collection_pass(tmp_path: Path) -> None:
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("a\nb\n")
    v1 = tf.compat.v1
    with tf.Graph().as_default() as graph:
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        y = tf.matmul(x, v1.get_variable("w", [3, 2]))
        asset = tf.constant(str(vocab))
        v1.add_to_collection(v1.GraphKeys.ASSET_FILEPATHS, asset)
        tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(asset, tf.string, -2, tf.int64, -1), -1
        )
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(str(tmp_path / "tf1"))
            builder.add_meta_graph_and_variables(
                session,
                ["serve"],
                signature_def_map={
                    "serving_default": v1.saved_model.predict_signature_def({"x": x}, {"y": y})
                },
                assets_collection=v1.get_collection(v1.GraphKeys.ASSET_FILEPATHS),
                main_op=v1.tables_initializer(),
            )
            builder.save()
    assert scan(tmp_path / "tf1") == []


def test_tf_keras_lambda_in_keras_metadata_is_critical_and_a_plain_model_passes(
    tmp_path: Path,
) -> None:
    tf_keras = pytest.importorskip("tf_keras", reason="tf-keras is not installed")
    inputs = tf_keras.Input((3,))
    dense = tf_keras.layers.Dense(2)(inputs)
    tf_keras.Model(inputs, dense).save(str(tmp_path / "plain"), save_format="tf")
    assert scan(tmp_path / "plain", "keras_metadata.pb") == []
    doubled = tf_keras.layers.Lambda(lambda t: t * 2, name="doubled")(dense)
    tf_keras.Model(inputs, doubled).save(str(tmp_path / "lambda"), save_format="tf")
    found = scan(tmp_path / "lambda", "keras_metadata.pb")
    assert [(rule, severity) for rule, severity, _ in found] == [
        ("keras-lambda", Severity.CRITICAL)
    ]
    assert "'doubled'" in found[0][2] and "bytecode" in found[0][2]
