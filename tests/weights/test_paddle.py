"""PaddlePaddle scan: .pdparams/.pdopt pickles and .pdmodel programs.

Benign files come from paddle itself (in a child process: paddle and torch loaded in one process
can clash) and, so the layout stays covered where paddle does not install, rebuilt with the calls
paddle.save makes: ``paddle.save(layer.state_dict())`` turns every tensor into ``tensor.numpy()``,
adds a ``"StructuredToParameterName@@"`` table of structured names to parameter names, and
pickles the dict with ``pickle.dump(obj, f, protocol=4)`` (2 and 3 are accepted). Hostile
``.pdmodel`` files are ProgramDesc messages from paddle's framework.proto, assembled field by field.
"""

from __future__ import annotations

import importlib.util
import io
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.findings import Severity, Verdict
from checks.io.source import BytesSource
from checks.weights.context import DeferredPolicy, ScanContext
from checks.weights.paddle import scan_pdmodel
from checks.weights.scanner import FileScan, scan_path
from tests.weights.pickles import (
    PROTO4,
    REDUCE,
    STACK_GLOBAL,
    STOP,
    TUPLE1,
    short_binunicode,
)
from tests.weights.protowire_writer import blob, message, uint

PADDLE_SAVES = """
import sys
import paddle
out = sys.argv[1]
layer = paddle.nn.Sequential(paddle.nn.Linear(4, 3), paddle.nn.ReLU(), paddle.nn.Linear(3, 2))
paddle.save(layer.state_dict(), out + "/model.pdparams")
adam = paddle.optimizer.Adam(parameters=layer.parameters())
layer(paddle.ones([2, 4])).sum().backward()
adam.step()
paddle.save(adam.state_dict(), out + "/model.pdopt")
paddle.enable_static()
x = paddle.static.data("x", [None, 4], "float32")
y = paddle.nn.functional.relu(paddle.static.nn.fc(x, 3))
exe = paddle.static.Executor(paddle.CPUPlace())
exe.run(paddle.static.default_startup_program())
paddle.static.save_inference_model(out + "/inference", [x], [y], exe)
"""


@pytest.fixture(scope="module")
def paddle_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("paddle") is None:
        pytest.skip("paddlepaddle is not installed")
    out = tmp_path_factory.mktemp("paddle")
    # The legacy program format (.pdmodel): paddle 3 writes PIR JSON unless told otherwise.
    env = {**os.environ, "FLAGS_enable_pir_api": "0"}
    subprocess.run(
        [sys.executable, "-c", PADDLE_SAVES, str(out)], check=True, env=env, capture_output=True
    )
    return out


@pytest.mark.parametrize("name", ["model.pdparams", "model.pdopt", "inference.pdmodel"])
def test_files_paddle_writes_pass(paddle_files: Path, name: str) -> None:
    scan = scan_path(paddle_files / name, name, DeferredPolicy())
    assert Verdict.of(f.severity for f in scan.findings) is Verdict.PASS
    if name.endswith(".pdmodel"):
        assert scan.format == "paddle-program"
        assert [f.rule for f in scan.findings] == ["paddle-program"]
        assert "relu" in scan.findings[0].message
    else:
        assert scan.format == "pickle" and scan.findings == []


def _state_dict() -> dict[str, object]:
    weights = {
        "linear_0.w_0": np.ones((4, 3), np.float32),
        "linear_0.b_0": np.zeros(3, np.float32),
        "embedding_0.w_0": np.arange(12, dtype=np.int64).reshape(6, 2),
    }
    return {
        **weights,
        "StructuredToParameterName@@": {
            "fc.weight": "linear_0.w_0",
            "fc.bias": "linear_0.b_0",
            "emb.weight": "embedding_0.w_0",
        },
    }


def _optimizer_state() -> dict[str, object]:
    # Adam's accumulators, as paddle.save(optimizer.state_dict()) writes them.
    return {
        "linear_0.w_0_moment1_0": np.zeros((4, 3), np.float32),
        "linear_0.w_0_beta1_pow_acc_0": np.array([0.9], np.float32),
        "LR_Scheduler": {"last_epoch": 3, "last_lr": 0.001},
    }


def _scan(tmp_path: Path, name: str, data: bytes) -> FileScan:
    path = tmp_path / name
    path.write_bytes(data)
    return scan_path(path, name, DeferredPolicy())


def _rules(scan: FileScan) -> list[tuple[str, Severity]]:
    return sorted((f.rule, f.severity) for f in scan.findings)


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_paddle_state_dict_passes(tmp_path: Path, protocol: int) -> None:
    scan = _scan(tmp_path, "model.pdparams", pickle.dumps(_state_dict(), protocol=protocol))
    assert scan.format == "pickle"
    assert scan.findings == []


def test_paddle_optimizer_state_passes(tmp_path: Path) -> None:
    scan = _scan(tmp_path, "model.pdopt", pickle.dumps(_optimizer_state(), protocol=4))
    assert scan.findings == []


def _reduce(module: str, name: str, arg: str) -> bytes:
    return (
        PROTO4
        + short_binunicode(module)
        + short_binunicode(name)
        + STACK_GLOBAL
        + short_binunicode(arg)
        + TUPLE1
        + REDUCE
        + STOP
    )


def test_os_system_in_pdparams_fails(tmp_path: Path) -> None:
    scan = _scan(tmp_path, "model.pdparams", _reduce("os", "system", "id"))
    assert ("unsafe-import", Severity.CRITICAL) in _rules(scan)


def test_paddles_eval_reducer_still_fails(tmp_path: Path) -> None:
    # paddle's own reducer for a raw LoDTensor is (eval, ('data', {'data': array})): the
    # string is the file's to choose, so it is graded as eval is anywhere.
    scan = _scan(tmp_path, "model.pdparams", _reduce("builtins", "eval", "__import__('os')"))
    assert ("unsafe-import", Severity.CRITICAL) in _rules(scan)


def test_torch_rebuilder_in_pdparams_is_unknown(tmp_path: Path) -> None:
    # Allowed in a torch checkpoint, but paddle.save never writes it: paddle.load would import
    # torch to load this file.
    scan = _scan(tmp_path, "model.pdparams", _reduce("torch._utils", "_rebuild_tensor", "x"))
    rules = _rules(scan)
    assert rules == [("unknown-import", Severity.HIGH)]
    assert "paddle.save never writes" in scan.findings[0].message


def test_zip_named_pdparams_is_a_mismatch(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.txt", "hello")
    scan = _scan(tmp_path, "model.pdparams", buffer.getvalue())
    assert ("name-mismatch", Severity.MEDIUM) in _rules(scan)


# -- .pdmodel ---------------------------------------------------------------------------------


def _op(kind: str, inputs: tuple[str, ...] = ("X",)) -> bytes:
    var = [message(1, [blob(1, slot), blob(2, f"{slot.lower()}_0")]) for slot in inputs]
    return message(4, [*var, message(2, [blob(1, "Out"), blob(2, "out_0")]), blob(3, kind)])


def _program(*ops: bytes) -> bytes:
    var = message(3, [blob(1, "x_0"), message(2, [uint(1, 7)])])
    block = message(1, [uint(1, 0), uint(2, (1 << 64) - 1), var, *ops])
    return block + message(4, [uint(1, 2006000)])


def test_plain_program_lists_its_ops(tmp_path: Path) -> None:
    scan = _scan(tmp_path, "inference.pdmodel", _program(_op("matmul_v2"), _op("relu")))
    assert scan.format == "paddle-program"
    assert _rules(scan) == [("paddle-program", Severity.INFO)]
    assert "2 ops" in scan.findings[0].message
    assert "matmul_v2, relu" in scan.findings[0].message


def test_py_func_op_fails(tmp_path: Path) -> None:
    scan = _scan(tmp_path, "inference.pdmodel", _program(_op("relu"), _op("py_func")))
    assert ("paddle-risky-op", Severity.HIGH) in _rules(scan)
    assert Verdict.of(f.severity for f in scan.findings) is Verdict.FAIL


def test_save_op_fails(tmp_path: Path) -> None:
    scan = _scan(tmp_path, "inference.pdmodel", _program(_op("save")))
    risky = [f for f in scan.findings if f.rule == "paddle-risky-op"]
    assert risky and "writes a file" in risky[0].message


def test_truncated_program_is_invalid(tmp_path: Path) -> None:
    data = _program(_op("matmul_v2"))
    scan = _scan(tmp_path, "inference.pdmodel", data[: len(data) // 2])
    assert ("paddle-invalid", Severity.HIGH) in _rules(scan)


def test_pickle_named_pdmodel_is_a_mismatch(tmp_path: Path) -> None:
    scan = _scan(tmp_path, "inference.pdmodel", _reduce("os", "system", "id"))
    rules = _rules(scan)
    assert ("unsafe-import", Severity.CRITICAL) in rules
    assert ("name-mismatch", Severity.HIGH) in rules


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_give_a_verdict(data: bytes) -> None:
    ctx = ScanContext(path="m.pdmodel", policy=None)
    scan_pdmodel(BytesSource(b"\x0a" + data), ctx)
    assert ctx.findings


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 255)), max_size=6))
def test_mutated_program_gives_a_verdict(edits: list[tuple[int, int]]) -> None:
    data = bytearray(_program(_op("matmul_v2"), _op("relu")))
    for position, value in edits:
        data[position % len(data)] = value
    ctx = ScanContext(path="m.pdmodel", policy=None)
    scan_pdmodel(BytesSource(bytes(data)), ctx)
    assert ctx.findings
