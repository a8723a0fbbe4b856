"""ONNX scan: models written by the real onnx library, hostile ones built with it, broken bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from checks.findings import Severity
from checks.io.source import BytesSource
from checks.weights.context import DeferredPolicy, ScanContext
from checks.weights.limits import Limits
from checks.weights.onnx import scan_onnx, unsafe_location
from checks.weights.scanner import FileScan, scan_path
from tests.weights.protowire_writer import blob, message, uint

onnx = pytest.importorskip("onnx")
helper, numpy_helper, TensorProto = onnx.helper, onnx.numpy_helper, onnx.TensorProto


def _io(name: str) -> object:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, 4])


def _model(nodes: list[Any], initializers: tuple[Any, ...] | list[Any] = (), **kwargs: Any) -> Any:
    graph = helper.make_graph(nodes, "g", [_io("x")], [_io("y")], list(initializers))
    return helper.make_model(graph, **kwargs)


def _scan(tmp_path: Path, model: object, name: str = "model.onnx", **save: object) -> FileScan:
    path = tmp_path / name
    onnx.save(model, path, **save)
    return scan_path(path, name, DeferredPolicy())


def _rules(scan: FileScan) -> list[tuple[str, Severity]]:
    return sorted((f.rule, f.severity) for f in scan.findings)


def test_plain_model_passes(tmp_path: Path) -> None:
    weight = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    scan = _scan(tmp_path, _model([helper.make_node("MatMul", ["x", "w"], ["y"])], [weight]))
    assert scan.format == "onnx"
    assert scan.findings == []


def test_external_sidecar_is_info_and_the_sidecar_is_data(tmp_path: Path) -> None:
    weight = numpy_helper.from_array(np.full((64, 64), 0.5, np.float32), "w")
    model = _model([helper.make_node("MatMul", ["x", "w"], ["y"])], [weight])
    scan = _scan(
        tmp_path, model, save_as_external_data=True, location="model.onnx.data", size_threshold=0
    )
    assert _rules(scan) == [("onnx-external-data", Severity.INFO)]
    assert "model.onnx.data" in scan.findings[0].message
    # Raw float bytes that start like a pickle opcode are still data, not a pickle.
    sidecar = tmp_path / "model.onnx_data"
    sidecar.write_bytes(b"\x80\x04" + np.ones(64, np.float32).tobytes())
    data_scan = scan_path(sidecar, "model.onnx_data", DeferredPolicy())
    assert (data_scan.format, data_scan.findings) == ("onnx-data", [])


@pytest.mark.parametrize(
    "location",
    [
        "../../etc/passwd",
        "/etc/shadow",
        "C:\\Windows\\win.ini",
        "\\\\host\\share\\w.bin",
        "a/../../x",
    ],
)
def test_hostile_external_locations_are_high(tmp_path: Path, location: str) -> None:
    weight = numpy_helper.from_array(np.ones(4, np.float32), "w")
    weight.data_location = TensorProto.EXTERNAL
    weight.ClearField("raw_data")
    entry = weight.external_data.add()
    entry.key, entry.value = "location", location
    scan = _scan(tmp_path, _model([helper.make_node("Add", ["x", "w"], ["y"])], [weight]))
    assert _rules(scan) == [("onnx-external-data", Severity.HIGH)]
    assert repr(location) in scan.findings[0].message


def test_location_rules() -> None:
    assert unsafe_location("model.onnx.data", "onnx/model.onnx") is None
    assert unsafe_location("weights/part1.bin", "model.onnx") is None
    assert unsafe_location("x\0y", "model.onnx") == "a path with a NUL byte"
    assert unsafe_location("", "model.onnx") == "an empty path"


def test_custom_and_contrib_domains(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("EvilOp", ["x"], ["t"], domain="com.example.evil"),
        helper.make_node("FusedGelu", ["t"], ["u"], domain="com.microsoft"),
        helper.make_node("Relu", ["u"], ["y"]),
    ]
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.example.evil", 1)]
    opsets.append(helper.make_opsetid("com.microsoft", 1))
    scan = _scan(tmp_path, _model(nodes, opset_imports=opsets))
    by_severity = {f.severity: f.message for f in scan.findings}
    assert _rules(scan) == [("onnx-custom-op", Severity.LOW), ("onnx-custom-op", Severity.MEDIUM)]
    assert "'com.example.evil'" in by_severity[Severity.MEDIUM]
    assert "'EvilOp'" in by_severity[Severity.MEDIUM]
    assert "'FusedGelu'" in by_severity[Severity.LOW]


def test_custom_op_inside_an_if_branch_is_found(tmp_path: Path) -> None:
    inner = helper.make_graph(
        [helper.make_node("Hidden", ["x"], ["z"], domain="org.hidden")], "then", [], [_io("z")]
    )
    other = helper.make_graph([helper.make_node("Identity", ["x"], ["z"])], "else", [], [_io("z")])
    node = helper.make_node("If", ["c"], ["y"], then_branch=inner, else_branch=other)
    scan = _scan(tmp_path, _model([node]))
    assert _rules(scan) == [("onnx-custom-op", Severity.MEDIUM)]
    assert "'Hidden'" in scan.findings[0].message


def test_local_function_is_low_and_its_calls_are_not_custom_ops(tmp_path: Path) -> None:
    body = [helper.make_node("Relu", ["a"], ["b"])]
    function = helper.make_function(
        "my.funcs", "MyRelu", ["a"], ["b"], body, [helper.make_opsetid("", 17)]
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("my.funcs", 1)]
    node = helper.make_node("MyRelu", ["x"], ["y"], domain="my.funcs")
    scan = _scan(tmp_path, _model([node], opset_imports=opsets, functions=[function]))
    assert _rules(scan) == [("onnx-local-function", Severity.LOW)]
    assert "my.funcs.MyRelu" in scan.findings[0].message


def test_deep_subgraph_nesting_stops_at_the_bound(tmp_path: Path) -> None:
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["z"])], "g0", [], [_io("z")])
    for level in range(20):
        node = helper.make_node("If", ["c"], ["z"], then_branch=graph, else_branch=graph)
        graph = helper.make_graph([node], f"g{level + 1}", [], [_io("z")])
    model = helper.make_model(graph)
    scan = _scan(tmp_path, model)
    assert _rules(scan) == [("limit-exceeded", Severity.HIGH)]


def _scan_bytes(data: bytes, limits: Limits | None = None) -> ScanContext:
    ctx = ScanContext(path="m.onnx", policy=None, limits=limits or Limits())
    scan_onnx(BytesSource(data), ctx)
    return ctx


def test_truncated_and_garbage_files_are_invalid(tmp_path: Path) -> None:
    weight = numpy_helper.from_array(np.ones((16, 16), np.float32), "w")
    good = _model([helper.make_node("MatMul", ["x", "w"], ["y"])], [weight]).SerializeToString()
    for cut in (len(good) // 2, len(good) - 1, 3):
        ctx = _scan_bytes(good[:cut])
        assert [(f.rule, f.severity) for f in ctx.findings] == [("onnx-invalid", Severity.HIGH)]
    path = tmp_path / "garbage.onnx"
    path.write_bytes(b"this is not a model at all\n")
    scan = scan_path(path, "garbage.onnx", DeferredPolicy())
    assert ("onnx-invalid", Severity.HIGH) in _rules(scan)


def test_hand_built_edge_cases() -> None:
    overlong = b"\x08" + b"\xff" * 11
    assert "10 bytes" in _scan_bytes(overlong).findings[0].message
    no_graph = uint(1, 8) + blob(2, "producer")
    assert "not an ONNX model" in _scan_bytes(no_graph).findings[0].message
    wrong_type = uint(1, 8) + uint(7, 3)
    assert _scan_bytes(wrong_type).findings[0].rule == "onnx-invalid"
    many = uint(1, 8) + message(7, [message(1, [blob(4, "Relu")])] * 50)
    ctx = _scan_bytes(many, Limits(max_proto_fields=20))
    assert [f.rule for f in ctx.findings] == ["limit-exceeded"]
