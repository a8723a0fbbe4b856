"""numpy .npy headers: literal parsing only, object arrays walked as pickles, sizes checked."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.findings import Finding, Severity
from checks.io.source import BytesSource
from checks.weights import pickle_walk
from checks.weights.context import ScanContext
from checks.weights.imports import ImportPolicy
from checks.weights.numpy_files import scan_npy
from checks.weights.scanner import FileScan, scan_path, scan_source

SYSTEM_PICKLE = b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."


@pytest.fixture(scope="module")
def walker_ready() -> bool:
    ctx = ScanContext(path="probe", policy=ImportPolicy.default())
    try:
        pickle_walk.scan_pickle_bytes(b"\x80\x02N.", ctx)
    except NotImplementedError:
        return False
    except Exception:
        return True
    return True


def scan(path: Path) -> FileScan:
    return scan_path(path, path.name, ImportPolicy.default())


def worst(findings: list[Finding]) -> Severity:
    return max((f.severity for f in findings), default=Severity.INFO)


def npy(header: str, body: bytes = b"", version: tuple[int, int] = (1, 0)) -> bytes:
    text = header.encode("latin1")
    size = struct.pack("<H" if version == (1, 0) else "<I", len(text))
    return b"\x93NUMPY" + bytes(version) + size + text + body


def save(path: Path, array: np.ndarray, version: tuple[int, int] | None = None) -> Path:
    with path.open("wb") as f:
        np.lib.format.write_array(f, array, version=version, allow_pickle=True)
    return path


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype="<i8").reshape(3, 4),
        np.asfortranarray(np.ones((3, 5), dtype=">f4")),
        np.zeros((0, 7)),
        np.array("text"),
        np.zeros(3, dtype=[("x", "<f4"), ("y", "S3", (2,)), ("z", [("a", "u1")])]),
        np.array(["a", "bcd"], dtype="<U3"),
        np.array([np.datetime64("2020-01-01")]),
    ],
)
def test_plain_arrays_pass(tmp_path: Path, array: np.ndarray) -> None:
    result = scan(save(tmp_path / "a.npy", array))
    assert result.format == "numpy"
    assert result.findings == []


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_every_header_version_is_read(tmp_path: Path, version: tuple[int, int]) -> None:
    assert scan(save(tmp_path / "a.npy", np.arange(5), version)).findings == []


def test_python2_long_integers_in_the_header_are_accepted(tmp_path: Path) -> None:
    header = "{'descr': '<i8', 'fortran_order': False, 'shape': (2L, 3L), }\n"
    (tmp_path / "old.npy").write_bytes(npy(header, bytes(48)))
    assert scan(tmp_path / "old.npy").findings == []


def test_truncated_array_is_a_size_mismatch(tmp_path: Path) -> None:
    data = save(tmp_path / "a.npy", np.arange(100)).read_bytes()
    (tmp_path / "a.npy").write_bytes(data[:-40])
    result = scan(tmp_path / "a.npy")
    assert [(f.rule, f.severity) for f in result.findings] == [
        ("numpy-size-mismatch", Severity.MEDIUM)
    ]


def test_pickle_parked_after_the_array_is_scanned(tmp_path: Path) -> None:
    data = save(tmp_path / "a.npy", np.arange(4)).read_bytes()
    (tmp_path / "a.npy").write_bytes(data + SYSTEM_PICKLE)
    result = scan(tmp_path / "a.npy")
    assert "numpy-size-mismatch" in {f.rule for f in result.findings}
    assert any(
        f.severity >= Severity.HIGH and (f.location or "").startswith("trailing data")
        for f in result.findings
    )


def test_object_array_payload_is_flagged(tmp_path: Path, walker_ready: bool) -> None:
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }".ljust(117) + "\n"
    (tmp_path / "evil.npy").write_bytes(npy(header, SYSTEM_PICKLE))
    hits = [f for f in scan(tmp_path / "evil.npy").findings if f.severity >= Severity.HIGH]
    if walker_ready:
        hits = [f for f in hits if f.rule != "scanner-error"]
    assert hits


def test_structured_dtype_with_an_object_field_is_walked(
    tmp_path: Path, walker_ready: bool
) -> None:
    header = "{'descr': [('a', '<i4'), ('b', '|O')], 'fortran_order': False, 'shape': (1,), }\n"
    (tmp_path / "s.npy").write_bytes(npy(header, SYSTEM_PICKLE))
    result = scan(tmp_path / "s.npy")
    assert "numpy-size-mismatch" not in {f.rule for f in result.findings}
    assert worst(result.findings) >= Severity.HIGH


def test_benign_object_array_passes(tmp_path: Path, walker_ready: bool) -> None:
    if not walker_ready:
        pytest.skip("the pickle walker has not landed yet")
    path = save(tmp_path / "o.npy", np.array([(1, 2), "x", None], dtype=object))
    assert worst(scan(path).findings) == Severity.INFO


@pytest.mark.parametrize(
    "data",
    [
        npy("{'descr': __import__('os').system('false'), 'fortran_order': False, 'shape': ()}\n"),
        npy("{'descr': '<i8', 'shape': (1,)}\n", bytes(8)),
        npy("{'descr': '<i8', 'fortran_order': 0, 'shape': (1,)}\n", bytes(8)),
        npy("{'descr': '<i8', 'fortran_order': False, 'shape': (-1,)}\n"),
        npy("{'descr': 'not a dtype', 'fortran_order': False, 'shape': (1,)}\n"),
        npy("['descr', 'fortran_order', 'shape']\n"),
        npy("{'descr': '<i8'", version=(2, 0)),
        b"\x93NUMPY\x09\x00" + b"\x00" * 20,
        b"\x93NUMPY\x01\x00\xff\xff{",
        b"\x93NUMPY",
    ],
)
def test_malformed_headers_fail_closed(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "bad.npy").write_bytes(data)
    result = scan(tmp_path / "bad.npy")
    assert [f.rule for f in result.findings] == ["malformed-numpy"]
    assert result.findings[0].severity == Severity.HIGH


def test_oversized_header_is_bounded(tmp_path: Path) -> None:
    header = "{'descr': '<i8', 'fortran_order': False, 'shape': (1,)}".ljust(3 << 20) + "\n"
    (tmp_path / "huge.npy").write_bytes(npy(header, version=(2, 0)))
    assert [f.rule for f in scan(tmp_path / "huge.npy").findings] == ["limit-exceeded"]


@settings(max_examples=200, deadline=300)
@given(st.binary(max_size=300), st.sampled_from([(1, 0), (2, 0), (3, 0), (4, 0)]))
def test_random_headers_never_raise(body: bytes, version: tuple[int, int]) -> None:
    ctx = ScanContext(path="x.npy", policy=ImportPolicy.default(), scan_nested=scan_source)
    data = b"\x93NUMPY" + bytes(version) + body
    scan_source(BytesSource(data), ctx)
    assert all(f.rule != "scanner-error" or "NotImplemented" in f.message for f in ctx.findings)


def test_scan_npy_reads_only_the_header_of_a_large_array() -> None:
    buf = io.BytesIO()
    np.save(buf, np.zeros(4 << 20, dtype="<f8"))
    source = BytesSource(buf.getvalue())
    ctx = ScanContext(path="z.npy", policy=ImportPolicy.default())
    scan_npy(source, ctx)
    assert ctx.findings == []
    assert source.bytes_read < 4096
