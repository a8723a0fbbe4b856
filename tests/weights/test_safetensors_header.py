"""safetensors header validation: real files pass, every broken header fails high."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import save_file as save_torch

from checks.findings import Severity
from checks.io.source import BytesSource, LocalFile
from checks.weights.context import ScanContext
from checks.weights.limits import Limits
from checks.weights.safetensors_header import scan_safetensors


def scan(data: bytes, limits: Limits | None = None) -> ScanContext:
    ctx = ScanContext(path="m.safetensors", policy=None, limits=limits or Limits())
    scan_safetensors(BytesSource(data), ctx)
    return ctx


def build(header: Any, data: bytes = b"", *, raw: bytes | None = None) -> bytes:
    text = raw if raw is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def messages(ctx: ScanContext) -> str:
    assert all(
        f.rule == "safetensors-invalid" and f.severity is Severity.HIGH for f in ctx.findings
    )
    return " | ".join(f.message for f in ctx.findings)


def test_numpy_written_file_passes(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    tensors: dict[str, np.ndarray[Any, Any]] = {"w": np.ones((3, 5), np.float32)}
    tensors |= {"b": np.zeros(7, np.int8), "e": np.zeros((0, 4))}
    save_numpy(tensors, str(path), metadata={"fmt": "np"})
    ctx = ScanContext(path="m.safetensors", policy=None)
    with LocalFile(path) as source:
        scan_safetensors(source, ctx)
        assert source.bytes_read < 300  # the header only, never the tensors
    assert ctx.findings == []


def test_torch_bf16_and_fp8_file_passes(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_torch(
        {
            "bf16": torch.zeros(3, 3, dtype=torch.bfloat16),
            "e4m3": torch.zeros(5, dtype=torch.float8_e4m3fn),
            "e5m2": torch.zeros(5, dtype=torch.float8_e5m2),
            "flag": torch.zeros(3, dtype=torch.bool),
        },
        str(path),
    )
    assert scan(path.read_bytes()).findings == []


def test_header_padded_with_spaces_passes() -> None:
    header = json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    assert scan(build(None, b"\0" * 8, raw=header + b"      ")).findings == []


def test_sub_byte_dtype_needs_whole_bytes() -> None:
    good = {"q": {"dtype": "F4", "shape": [4], "data_offsets": [0, 2]}}
    odd = {"q": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}}
    assert scan(build(good, b"\0\0")).findings == []
    assert "needs" in messages(scan(build(odd, b"\0\0")))


def test_length_past_end_of_file() -> None:
    assert "only" in messages(scan(struct.pack("<Q", 1000) + b"{}"))


def test_length_over_limit() -> None:
    data = build({}, raw=b"{" + b" " * 200 + b"}")
    assert "bound" in messages(scan(data, Limits(max_header_bytes=100)))


def test_truncated_prefix() -> None:
    assert "shorter" in messages(scan(b"\x02\0\0"))


def test_not_utf8_or_not_json_or_not_object() -> None:
    assert "UTF-8" in messages(scan(build(None, raw=b'{"\xff": 1}')))
    assert "JSON" in messages(scan(build(None, raw=b"{nope")))
    assert "start" in messages(scan(build(None, raw=b"[1]")))


def test_duplicate_keys_rejected() -> None:
    entry = '{"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}'
    raw = f'{{"a": {entry}, "a": {entry}}}'.encode()
    assert "twice" in messages(scan(build(None, b"\0", raw=raw)))


def test_unknown_dtype() -> None:
    data = build({"a": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}, b"\0" * 16)
    assert "'a'" in messages(scan(data)) and "dtype" in messages(scan(data))


def test_bad_shapes() -> None:
    for shape in ([-1], [1.5], [True], "4", [2**64]):
        data = build({"a": {"dtype": "U8", "shape": shape, "data_offsets": [0, 1]}}, b"\0")
        assert "shape" in messages(scan(data)), shape


def test_size_mismatch_names_the_tensor() -> None:
    data = build({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 8]}}, b"\0" * 8)
    assert "tensor 'w'" in messages(scan(data))


def test_range_outside_data() -> None:
    data = build({"w": {"dtype": "U8", "shape": [16], "data_offsets": [0, 16]}}, b"\0" * 8)
    assert "outside" in messages(scan(data))


def test_overlap_gap_and_tail() -> None:
    def entry(begin: int, end: int) -> dict[str, Any]:
        return {"dtype": "U8", "shape": [end - begin], "data_offsets": [begin, end]}

    overlap = build({"a": entry(0, 4), "b": entry(2, 6)}, b"\0" * 6)
    gap = build({"a": entry(0, 2), "b": entry(4, 6)}, b"\0" * 6)
    tail = build({"a": entry(0, 2)}, b"\0" * 6)
    assert "overlaps" in messages(scan(overlap))
    assert "unclaimed" in messages(scan(gap))
    assert "after the last tensor" in messages(scan(tail))


def test_metadata_must_map_strings_to_strings() -> None:
    assert "__metadata__" in messages(scan(build({"__metadata__": {"k": 1}})))
    assert "__metadata__" in messages(scan(build({"__metadata__": ["x"]})))
    assert scan(build({"__metadata__": {"k": "v"}})).findings == []


def test_many_bad_entries_are_summarised() -> None:
    bad = {f"t{i}": {"dtype": "??", "shape": [], "data_offsets": [0, 0]} for i in range(50)}
    ctx = scan(build(bad))
    assert len(ctx.findings) == 21 and "more" in ctx.findings[-1].message


@settings(max_examples=150, deadline=400)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    scan(data)


def _valid_file() -> bytes:
    header = {
        "a": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 12]},
        "b": {"dtype": "I64", "shape": [1], "data_offsets": [12, 20]},
        "__metadata__": {"format": "pt"},
    }
    return build(header, bytes(range(20)))


@settings(max_examples=200, deadline=400)
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=8))
def test_mutated_header_never_raises(edits: list[tuple[int, int]]) -> None:
    data = bytearray(_valid_file())
    for position, value in edits:
        data[position % len(data)] = value
    scan(bytes(data))
