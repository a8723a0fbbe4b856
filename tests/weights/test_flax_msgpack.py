"""Flax msgpack scan: checkpoints written by flax itself, hostile ones assembled with msgpack."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import BytesSource
from checks.weights.context import DeferredPolicy, ScanContext
from checks.weights.flax_msgpack import scan_msgpack
from checks.weights.scanner import FileScan, scan_path, scan_source

msgpack = pytest.importorskip("msgpack")
serialization = pytest.importorskip("flax.serialization")


def _params() -> object:
    import jax
    import jax.numpy as jnp
    from flax import linen as nn

    model = nn.Sequential([nn.Dense(8), nn.relu, nn.Dense(2, dtype=jnp.bfloat16)])
    return model.init(jax.random.PRNGKey(0), jnp.ones((1, 4)))


def _scan(tmp_path: Path, data: bytes, name: str = "flax_model.msgpack") -> FileScan:
    path = tmp_path / name
    path.write_bytes(data)
    return scan_path(path, name, DeferredPolicy())


def _rules(scan: FileScan) -> list[tuple[str, Severity]]:
    return sorted((f.rule, f.severity) for f in scan.findings)


def test_flax_params_pass(tmp_path: Path) -> None:
    scan = _scan(tmp_path, serialization.to_bytes(_params()))
    assert scan.format == "msgpack"
    assert scan.findings == []


def test_every_kind_of_value_flax_writes_passes(tmp_path: Path) -> None:
    import jax.numpy as jnp

    state = {
        "params": {"kernel": np.ones((2, 3), np.float32), "bias": jnp.zeros(3, jnp.bfloat16)},
        "step": np.int32(7),
        "scale": 1 + 2j,
        "nothing": None,
        "history": [1, 2.5, "x", True],
        "raw": b"bytes",
        "mask": np.array([True, False]),
    }
    assert _scan(tmp_path, serialization.msgpack_serialize(state)).findings == []


def test_chunked_arrays_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # flax splits arrays over MAX_CHUNK_SIZE into maps of chunks; a small bound forces it.
    monkeypatch.setattr(serialization, "MAX_CHUNK_SIZE", 64)
    data = serialization.msgpack_serialize({"embed": np.ones((10, 10), np.float32)})
    assert b"__msgpack_chunked_array__" in data
    assert _scan(tmp_path, data).findings == []


def test_only_headers_are_read() -> None:
    data = serialization.msgpack_serialize({"w": np.ones((1024, 1024), np.float32)})
    source = BytesSource(data)
    ctx = ScanContext(path="flax_model.msgpack", policy=None)
    scan_msgpack(source, ctx)
    assert ctx.findings == []
    assert source.bytes_read < 256 << 10 < len(data)


def _array(shape: list[int], dtype: str, raw: bytes, code: int = 1) -> object:
    return msgpack.ExtType(code, msgpack.packb([shape, dtype, raw], use_bin_type=True))


def test_unknown_ext_code_fails(tmp_path: Path) -> None:
    data = msgpack.packb({"w": msgpack.ExtType(42, b"\x00" * 8)})
    scan = _scan(tmp_path, data)
    assert _rules(scan) == [("flax-unknown-ext", Severity.HIGH)]
    assert "type 42" in scan.findings[0].message


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (_array([2], "object", b"\x00" * 16), "'object'"),
        (_array([4, 4], "float32", b"\x00" * 8), "16 float32 values held in 8 bytes"),
        (msgpack.ExtType(1, msgpack.packb(["not", "a triple"])), "triple"),
        (msgpack.ExtType(1, msgpack.packb([[-1], "float32", b""])), "shape"),
        (msgpack.ExtType(2, msgpack.packb(["a", "b"])), "complex"),
    ],
    ids=["object-dtype", "short-buffer", "not-a-triple", "negative-dim", "bad-complex"],
)
def test_non_data_payloads_fail(tmp_path: Path, value: object, says: str) -> None:
    scan = _scan(tmp_path, msgpack.packb({"w": value}, use_bin_type=True))
    assert _rules(scan) == [("flax-non-data", Severity.HIGH)]
    assert says in scan.findings[0].message


def test_top_level_list_is_not_a_state_dict(tmp_path: Path) -> None:
    scan = _scan(tmp_path, b"\x92\x01\x02")
    assert ("flax-non-data", Severity.HIGH) in _rules(scan)


def test_integer_keys_warn(tmp_path: Path) -> None:
    scan = _scan(tmp_path, msgpack.packb({1: {"w": _array([1], "float32", b"\x00" * 4)}}))
    assert _rules(scan) == [("flax-non-data", Severity.MEDIUM)]


def test_truncated_file_is_a_clear_finding(tmp_path: Path) -> None:
    data = serialization.to_bytes(_params())
    scan = _scan(tmp_path, data[: len(data) - 100])
    assert _rules(scan) == [("flax-invalid", Severity.HIGH)]
    assert "truncated" in scan.findings[0].message


@pytest.mark.parametrize(
    "data",
    [
        serialization.msgpack_serialize({"a": 1}) + b"\x00",
        b"\x81\xa1a\xc1",
        b"\x81\xa1a\xdd\xff\xff\xff\xff\x01",
    ],
    ids=["trailing-bytes", "reserved-byte", "huge-count"],
)
def test_malformed_bytes_are_invalid(tmp_path: Path, data: bytes) -> None:
    assert _rules(_scan(tmp_path, data)) == [("flax-invalid", Severity.HIGH)]


def test_deep_nesting_stops_at_a_bound(tmp_path: Path) -> None:
    scan = _scan(tmp_path, b"\x81\xa1a" + b"\x91" * 500 + b"\x01")
    assert _rules(scan) == [("limit-exceeded", Severity.HIGH)]


def test_pickle_named_msgpack_fails(tmp_path: Path) -> None:
    scan = _scan(tmp_path, b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R.")
    rules = _rules(scan)
    assert ("unsafe-import", Severity.CRITICAL) in rules
    assert ("name-mismatch", Severity.HIGH) in rules


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_give_a_verdict(data: bytes) -> None:
    ctx = ScanContext(path="flax_model.msgpack", policy=None)
    try:
        scan_msgpack(BytesSource(b"\x81" + data), ctx)
    except LimitExceeded:
        return
    ctx2 = ScanContext(path="flax_model.msgpack", policy=DeferredPolicy())
    scan_source(BytesSource(b"\x81" + data), ctx2)
    assert all(f.rule != "scanner-error" for f in ctx2.findings)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=6))
def test_mutated_checkpoint_gives_a_verdict(edits: list[tuple[int, int]]) -> None:
    data = bytearray(serialization.msgpack_serialize({"w": np.ones((3, 3), np.float32), "s": 1}))
    for position, value in edits:
        data[position % len(data)] = value
    ctx = ScanContext(path="flax_model.msgpack", policy=DeferredPolicy())
    scan_source(BytesSource(bytes(data)), ctx)
    assert all(f.rule != "scanner-error" for f in ctx.findings)
