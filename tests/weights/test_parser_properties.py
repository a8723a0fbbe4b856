"""Every protobuf, TorchScript and Keras parser, given arbitrary or mutated bytes, ends in a
verdict: findings, never an exception or a parser crash, in bounded time (hypothesis deadlines)."""

from __future__ import annotations

import io
import json
import zipfile
from functools import lru_cache
from typing import Any

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.findings import Finding, Verdict
from checks.io.source import BytesSource
from checks.weights.context import DeferredPolicy, ScanContext
from checks.weights.keras import scan_keras_config
from checks.weights.onnx import scan_onnx
from checks.weights.saved_model import scan_keras_metadata, scan_saved_model
from checks.weights.saved_model_text import scan_saved_model_text
from checks.weights.scanner import scan_source
from tests.weights.keras_configs import DENSE, K3_LAMBDA, keras3_model
from tests.weights.protowire_writer import blob, message, uint
from tests.weights.saved_models import (
    attr_s,
    function,
    graph,
    keras_metadata,
    node,
    object_graph,
    plain_graph,
    saved_model,
    string_const,
)

EDITS = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=8)
CUT = st.integers(0, 1 << 20)
QUICK = settings(max_examples=150, deadline=500)
# A TorchScript scan unzips and parses code: more work per example, the same kind of bound.
ARCHIVE = settings(max_examples=60, deadline=3000, suppress_health_check=[HealthCheck.too_slow])


def mutated(base: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    data = bytearray(base)
    for position, value in edits:
        data[position % len(data)] = value
    return bytes(data[: len(data) - cut % max(len(data) // 4, 1)])


def verdict_of(findings: list[Finding]) -> Verdict:
    """What a user sees; a crash inside any parser shows as scanner-error, which must not happen."""
    assert [f for f in findings if f.rule == "scanner-error"] == []
    return Verdict.of(f.severity for f in findings)


def scan_file(data: bytes, name: str) -> list[Finding]:
    ctx = ScanContext(path=name, policy=DeferredPolicy(), scan_nested=scan_source)
    scan_source(BytesSource(data), ctx)
    return ctx.findings


def direct(parser: Any, data: bytes, name: str) -> list[Finding]:
    """The parser itself, outside the dispatcher's safety net: it must not raise either."""
    ctx = ScanContext(path=name, policy=DeferredPolicy(), scan_nested=scan_source)
    parser(BytesSource(data), ctx)
    return ctx.findings


@lru_cache(maxsize=1)
def onnx_model() -> bytes:
    # onnx.proto: ModelProto ir_version = 1, graph = 7; GraphProto node = 1, initializer = 5;
    # NodeProto op_type = 4, domain = 7, attribute = 5 (AttributeProto g = 6); TensorProto
    # name = 8, external_data = 13 (key = 1, value = 2), data_location = 14.
    tensor = message(
        5,
        [blob(8, "w"), message(13, [blob(1, "location"), blob(2, "../w.bin")]), uint(14, 1)],
    )
    body = message(6, [message(1, [blob(4, "Relu")])])
    nodes = [
        message(1, [blob(4, "MatMul")]),
        message(1, [blob(4, "If"), message(5, [body])]),
        message(1, [blob(4, "Gate"), blob(7, "acme.ops")]),
    ]
    return uint(1, 8) + message(7, [*nodes, tensor])


@lru_cache(maxsize=1)
def hostile_saved_model() -> bytes:
    body = [
        string_const("Const", "/tmp/x"),
        node("WriteFile", "WriteFile", ["Const:output:0", "x"]),
        node("p", "PyFunc", ["x"], [attr_s("token", "pyfunc_1")]),
    ]
    objects = object_graph([("_tf_keras_model", keras3_model(DENSE, K3_LAMBDA))])
    return saved_model(plain_graph(), graph([], [function("f", body)]), objects)


class Small(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.lin(x))


@lru_cache(maxsize=1)
def torchscript_archive() -> bytes:
    out = io.BytesIO()
    torch.jit.save(torch.jit.script(Small()), out)
    return out.getvalue()


def with_code(code: bytes) -> bytes:
    """The TorchScript archive with its model code replaced (the code parser's input)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(torchscript_archive())) as src,
        zipfile.ZipFile(out, "w") as dst,
    ):
        for info in src.infolist():
            is_code = "/code/" in info.filename and info.filename.endswith(".py")
            dst.writestr(info, code if is_code else src.read(info))
    return out.getvalue()


@QUICK
@given(st.binary(max_size=600))
def test_onnx_arbitrary_bytes(data: bytes) -> None:
    verdict_of(direct(scan_onnx, data, "model.onnx"))


@QUICK
@given(EDITS, CUT)
def test_onnx_mutated_model(edits: list[tuple[int, int]], cut: int) -> None:
    verdict_of(direct(scan_onnx, mutated(onnx_model(), edits, cut), "model.onnx"))


@QUICK
@given(st.binary(max_size=600))
def test_saved_model_arbitrary_bytes(data: bytes) -> None:
    verdict_of(direct(scan_saved_model, data, "saved_model.pb"))
    verdict_of(direct(scan_keras_metadata, data, "keras_metadata.pb"))


@QUICK
@given(
    st.text(alphabet=st.sampled_from("op: \"\\'x0A1{}\n"), max_size=300)
    | st.binary(max_size=300).map(lambda b: b.decode("latin-1"))
)
def test_saved_model_text_arbitrary(text: str) -> None:
    verdict_of(direct(scan_saved_model_text, text.encode(), "saved_model.pbtxt"))


@QUICK
@given(EDITS, CUT)
def test_saved_model_mutated_graph(edits: list[tuple[int, int]], cut: int) -> None:
    data = mutated(hostile_saved_model(), edits, cut)
    verdict_of(direct(scan_saved_model, data, "saved_model.pb"))
    verdict_of(scan_file(data, "export/saved_model.pb"))


def test_unmutated_hostile_saved_model_fails() -> None:
    # The base the mutations start from is one the scan fails: they explore a real verdict.
    assert verdict_of(scan_file(hostile_saved_model(), "saved_model.pb")) is Verdict.FAIL


@QUICK
@given(EDITS, CUT)
def test_keras_metadata_mutated(edits: list[tuple[int, int]], cut: int) -> None:
    base = keras_metadata([("root", keras3_model(DENSE, K3_LAMBDA)), ("root.layer-1", DENSE)])
    verdict_of(direct(scan_keras_metadata, mutated(base, edits, cut), "keras_metadata.pb"))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "class_name",
                    "config",
                    "module",
                    "registered_name",
                    "name",
                    "layers",
                    "function",
                    "function_type",
                    "vocabulary",
                    "filepath",
                    "output_shape",
                ]
            ),
            inner
            | st.sampled_from(
                [
                    "Lambda",
                    "__lambda__",
                    "function",
                    "StringLookup",
                    "TFSMLayer",
                    "Functional",
                    "os",
                    "builtins",
                    "keras.layers",
                    "a>b",
                    "x://y",
                ]
            ),
            max_size=5,
        )
    ),
    max_leaves=30,
)


@QUICK
@given(JSON)
def test_keras_config_shapes(config: Any) -> None:
    ctx = ScanContext(path="m.keras", policy=None)
    scan_keras_config(json.dumps(config).encode(), ctx)
    verdict_of(ctx.findings)


@QUICK
@given(st.binary(max_size=400) | st.text(max_size=200).map(str.encode))
def test_keras_config_arbitrary_text(data: bytes) -> None:
    ctx = ScanContext(path="m.keras", policy=None)
    scan_keras_config(data, ctx)
    verdict_of(ctx.findings)


@ARCHIVE
@given(EDITS, CUT)
def test_torchscript_mutated_archive(edits: list[tuple[int, int]], cut: int) -> None:
    verdict_of(scan_file(mutated(torchscript_archive(), edits, cut), "model.pt"))


@ARCHIVE
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_torchscript_arbitrary_code(code: bytes) -> None:
    verdict_of(scan_file(with_code(code), "model.pt"))
