"""SavedModel scan: graphs built with TensorFlow's field numbers, as an export folder holds them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from checks.findings import Severity
from checks.weights.context import DeferredPolicy
from checks.weights.saved_model_rules import RULES_FILE, rules
from checks.weights.scanner import FileScan, scan_path
from tests.weights.keras_configs import DENSE, K3_LAMBDA, keras3_model
from tests.weights.saved_models import (
    asset,
    attr_list_s,
    attr_s,
    function,
    graph,
    keras_metadata,
    node,
    object_graph,
    plain_graph,
    saved_model,
    saver,
    string_const,
)


def scan(tmp_path: Path, data: bytes, name: str = "saved_model.pb") -> FileScan:
    folder = tmp_path / "export" / "1"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return scan_path(folder / name, f"export/1/{name}", DeferredPolicy())


def rules_of(found: FileScan) -> list[tuple[str, Severity]]:
    return sorted((f.rule, f.severity) for f in found.findings)


def test_plain_saved_model_passes(tmp_path: Path) -> None:
    found = scan(tmp_path, saved_model(plain_graph()))
    assert found.format == "saved-model"
    assert found.findings == []


def test_write_file_in_a_serving_function_is_critical_and_names_the_path(tmp_path: Path) -> None:
    body = [
        string_const("Const", "/home/user/.bashrc"),
        node("WriteFile", "WriteFile", ["Const:output:0", "x"]),
    ]
    found = scan(tmp_path, saved_model(graph([], [function("__inference_serve_7", body)])))
    assert rules_of(found) == [("saved-model-op", Severity.CRITICAL)]
    message = found.findings[0].message
    assert "WriteFile" in message and "'/home/user/.bashrc'" in message
    assert "__inference_serve_7" in message


def test_function_scope_is_known_when_the_signature_comes_last(tmp_path: Path) -> None:
    body = [node("ReadFile", "ReadFile", ["path"])]
    fn = function("__inference_read_3", body, signature_last=True)
    found = scan(tmp_path, saved_model(graph([], [fn])))
    assert rules_of(found) == [("saved-model-op", Severity.HIGH)]
    assert "'__inference_read_3'" in found.findings[0].message


def test_py_func_is_critical_and_names_its_token(tmp_path: Path) -> None:
    nodes = [node("EagerPyFunc", "EagerPyFunc", ["x"], [attr_s("token", "pyfunc_0")])]
    found = scan(tmp_path, saved_model(graph(nodes)))
    assert rules_of(found) == [("saved-model-op", Severity.CRITICAL)]
    assert "'pyfunc_0'" in found.findings[0].message and "Python" in found.findings[0].message


def test_file_readers_and_debug_ops_are_high(tmp_path: Path) -> None:
    nodes = [
        node("m", "MatchingFiles", ["pattern"]),
        node("d", "DebugIdentity", ["x"], [attr_list_s("debug_urls", ["file:///tmp/dump"])]),
    ]
    found = scan(tmp_path, saved_model(graph(nodes)))
    assert rules_of(found) == [("saved-model-op", Severity.HIGH)] * 2
    assert any("'file:///tmp/dump'" in f.message for f in found.findings)


def test_print_to_a_file_is_high_and_to_stderr_passes(tmp_path: Path) -> None:
    to_file = node("p", "PrintV2", ["s"], [attr_s("output_stream", "file:///tmp/log.txt")])
    found = scan(tmp_path, saved_model(graph([to_file])))
    assert rules_of(found) == [("saved-model-op", Severity.HIGH)]
    to_stderr = node("p", "PrintV2", ["s"], [attr_s("output_stream", "stderr")])
    assert scan(tmp_path, saved_model(graph([to_stderr]))).findings == []


def test_restore_from_a_path_fixed_in_the_graph_is_high(tmp_path: Path) -> None:
    nodes = [
        string_const("fixed", "/etc/shadow"),
        node("restore", "RestoreV2", ["fixed", "names", "slices"]),
    ]
    found = scan(tmp_path, saved_model(graph(nodes)))
    assert rules_of(found) == [("saved-model-fixed-path", Severity.HIGH)]
    assert "'/etc/shadow'" in found.findings[0].message


def test_tf1_saver_constant_and_asset_constant_are_fed_by_the_loader(tmp_path: Path) -> None:
    # TF1's Saver names its filename tensor (a Const "model" the loader overrides); a table reads
    # its vocabulary through an asset constant the loader replaces with the assets/ path.
    nodes = [
        string_const("save/Const", "model"),
        node("save/RestoreV2", "RestoreV2", ["save/Const", "names", "slices"]),
        string_const("asset_path", "/tmp/training-machine/vocab.txt"),
        node("init", "InitializeTableFromTextFileV2", ["hash_table", "asset_path"]),
    ]
    meta = [graph(nodes), saver("save/Const:0"), asset("asset_path:0", "vocab.txt")]
    assert scan(tmp_path, saved_model(*meta)).findings == []
    # Without the asset entry the same table reads a fixed file of the loading machine.
    found = scan(tmp_path, saved_model(graph(nodes), saver("save/Const:0")))
    assert rules_of(found) == [("saved-model-fixed-path", Severity.HIGH)]
    assert "InitializeTableFromTextFileV2" in found.findings[0].message


def test_asset_outside_the_assets_folder_is_high(tmp_path: Path) -> None:
    found = scan(tmp_path, saved_model(plain_graph(), asset("a:0", "../../../etc/passwd")))
    assert rules_of(found) == [("saved-model-asset", Severity.HIGH)]
    assert "'..'" in found.findings[0].message


def test_keras_metadata_in_the_object_graph_goes_through_the_keras_checks(tmp_path: Path) -> None:
    objects = object_graph([("_tf_keras_model", keras3_model(DENSE, K3_LAMBDA))])
    found = scan(tmp_path, saved_model(plain_graph(), objects))
    assert rules_of(found) == [("keras-lambda", Severity.CRITICAL)]


def test_keras_metadata_file_reports_a_lambda_once(tmp_path: Path) -> None:
    # The model's metadata repeats its layers' configs, each of which is saved again on its own.
    data = keras_metadata([("root", keras3_model(DENSE, K3_LAMBDA)), ("root.layer-2", K3_LAMBDA)])
    found = scan(tmp_path, data, "keras_metadata.pb")
    assert found.format == "keras-metadata"
    assert rules_of(found) == [("keras-lambda", Severity.CRITICAL)]
    plain = scan(tmp_path, keras_metadata([("root", keras3_model(DENSE))]), "keras_metadata.pb")
    assert plain.findings == []


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (saved_model(plain_graph())[:-3], "past the end"),  # truncated mid-field
        (b"\x08\x01", "no meta graph"),
        (b"\x0f\x00\x00", "wire type"),
        (b"version: 1\nmeta_graphs {}\n", "SavedModel"),  # text format under the binary name
    ],
)
def test_malformed_saved_model_is_one_high_finding(tmp_path: Path, data: bytes, said: str) -> None:
    found = scan(tmp_path, data)
    assert rules_of(found) == [("saved-model-invalid", Severity.HIGH)]
    assert said in found.findings[0].message


def test_saved_model_inside_an_archive_is_scanned(tmp_path: Path) -> None:
    body = [node("w", "WriteFile", ["p", "x"])]
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("export/saved_model.pb", saved_model(graph([], [function("f", body)])))
        zf.writestr("export/variables/variables.index", b"\x00" * 16)
    found = scan_path(archive, "model.zip", DeferredPolicy())
    assert ("saved-model-op", Severity.CRITICAL) in rules_of(found)
    assert any("saved_model.pb" in (f.location or "") for f in found.findings)


def test_op_table_lists_each_op_once() -> None:
    # A repeated op would silently take the severity of whichever group comes last.
    import tomllib

    raw = tomllib.loads(
        (Path(__file__).parents[2] / "checks" / "weights" / RULES_FILE).read_text("utf-8")
    )
    listed = [op for group in raw["dangerous"] for op in group["ops"]]
    listed += list(raw["path_fed"]["ops"])
    assert len(listed) == len(set(listed))
    assert rules().dangerous["WriteFile"].severity is Severity.CRITICAL


def test_text_format_saved_model_grades_its_ops_and_says_what_it_skipped(tmp_path: Path) -> None:
    # As text_format.MessageToString writes a graph; the text format lets a name hide in escapes.
    text = (
        "saved_model_schema_version: 1\nmeta_graphs {\n  graph_def {\n    library {\n"
        '      function {\n        signature { name: "__inference_f_9" }\n'
        '        node_def { name: "w" op: "Write\\106ile" input: "p" input: "x" }\n'
        "        node_def { name: 'r' op: 'ReadFile' input: 'p' }\n"
        '        node_def { name: "m" op: "MatMul" }\n      }\n    }\n  }\n}\n'
    )
    found = scan(tmp_path, text.encode(), "saved_model.pbtxt")
    assert found.format == "saved-model-text"
    assert rules_of(found) == [
        ("saved-model-op", Severity.HIGH),
        ("saved-model-op", Severity.CRITICAL),
        ("saved-model-text", Severity.MEDIUM),
    ]
    assert any("WriteFile" in f.message for f in found.findings)
    plain = 'meta_graphs { graph_def { node { name: "m" op: "MatMul" } } }\n'
    assert rules_of(scan(tmp_path, plain.encode(), "saved_model.pbtxt")) == [
        ("saved-model-text", Severity.MEDIUM)
    ]
