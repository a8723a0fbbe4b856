"""torch.distributed.checkpoint folders: written by torch's own dcp.save, hostile parts by hand."""

from __future__ import annotations

import functools
import io
import os
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.base import CheckResult
from checks.findings import Severity, Verdict
from checks.io.source import BytesSource
from checks.weights.context import DeferredPolicy, ScanContext
from checks.weights.scan_files import scan_files
from checks.weights.scanner import scan_source
from tests.weights.pickles import (
    PROTO4,
    REDUCE,
    STACK_GLOBAL,
    STOP,
    TUPLE1,
    short_binunicode,
)

torch = pytest.importorskip("torch")
dcp = pytest.importorskip("torch.distributed.checkpoint")


class Evil:
    """Pickles to os.system: written by torch.save here, never loaded."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("true",))


def _save(folder: Path) -> Path:
    state = {
        "model": {"w": torch.ones(4, 4), "b": torch.zeros(4, dtype=torch.bfloat16)},
        "step": 3,
        "extra": {"lr": 0.1, "name": "run-1", "betas": [0.9, 0.99]},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "assuming the intent is to save in a single process"
        dcp.save(state, checkpoint_id=str(folder), no_dist=True)
    return folder


def _scan(folder: Path) -> CheckResult:
    return scan_files([(p, p.name) for p in sorted(folder.iterdir())])


def _by_file(result: CheckResult) -> dict[str, set[tuple[str, Severity]]]:
    out: dict[str, set[tuple[str, Severity]]] = {}
    for f in result.findings:
        out.setdefault(f.path, set()).add((f.rule, f.severity))
    return out


def _shard(folder: Path) -> Path:
    return next(folder.glob("*.distcp"))


def test_a_real_checkpoint_warns_for_its_metadata_classes_only(tmp_path: Path) -> None:
    result = _scan(_save(tmp_path / "ck"))
    formats = {f.path: f.format for f in result.files}
    assert formats[".metadata"] == "pickle"
    assert formats[_shard(tmp_path / "ck").name] == "distcp"
    assert _by_file(result) == {".metadata": {("metadata-import", Severity.MEDIUM)}}
    names = {f.extra["import"] for f in result.findings}
    assert "torch.distributed.checkpoint.metadata.Metadata" in names
    assert "torch.distributed.checkpoint.filesystem._StorageInfo" in names
    assert Verdict.of(f.severity for f in result.findings) is Verdict.WARN


def _reduce(module: str, name: str) -> bytes:
    return (
        PROTO4
        + short_binunicode(module)
        + short_binunicode(name)
        + STACK_GLOBAL
        + short_binunicode("id")
        + TUPLE1
        + REDUCE
        + STOP
    )


@pytest.mark.parametrize(
    ("module", "name", "rule", "severity"),
    [
        ("os", "system", "unsafe-import", Severity.CRITICAL),
        ("torch.distributed.checkpoint.metadata", "os.system", "unsafe-import", Severity.CRITICAL),
        ("torch.distributed.checkpoint.metadata", "Metadata.__reduce__", "unsafe-import",
         Severity.CRITICAL),
        ("torch.distributed.checkpoint.planner", "Helper", "unknown-import", Severity.HIGH),
    ],
)  # fmt: skip
def test_anything_else_in_metadata_fails(
    tmp_path: Path, module: str, name: str, rule: str, severity: Severity
) -> None:
    folder = _save(tmp_path / "ck")
    (folder / ".metadata").write_bytes(_reduce(module, name))
    assert (rule, severity) in _by_file(_scan(folder))[".metadata"]


def test_dcp_classes_outside_metadata_are_graded_as_usual(tmp_path: Path) -> None:
    (tmp_path / "state.pkl").write_bytes(_reduce("torch.distributed.checkpoint.metadata", "X"))
    result = scan_files([(tmp_path / "state.pkl", "state.pkl")])
    assert ("unknown-import", Severity.HIGH) in _by_file(result)["state.pkl"]


def _torch_save(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_a_malicious_item_inside_a_shard_fails(tmp_path: Path) -> None:
    folder = _save(tmp_path / "ck")
    shard = _shard(folder)
    data = shard.read_bytes()
    shard.write_bytes(data + _torch_save(Evil()))
    found = [f for f in _scan(folder).findings if f.path == shard.name]
    assert any(f.rule == "unsafe-import" and f.severity is Severity.CRITICAL for f in found)
    assert any(f"item at byte {len(data)}" in (f.location or "") for f in found)


def test_a_raw_pickle_between_items_fails(tmp_path: Path) -> None:
    folder = _save(tmp_path / "ck")
    shard = _shard(folder)
    data = shard.read_bytes()
    payload = _reduce("os", "system")
    shard.write_bytes(payload + data)
    found = [f for f in _scan(folder).findings if f.path == shard.name]
    assert any(f.rule == "unsafe-import" for f in found)
    assert any(f"bytes 0..{len(payload)}" in (f.location or "") for f in found)


def test_raw_tensor_bytes_that_spell_an_end_record_pass(tmp_path: Path) -> None:
    raw = b"\x00" * 16 + b"PK\x05\x06" + b"\x00" * 40
    (tmp_path / "__0_0.distcp").write_bytes(
        _torch_save(torch.ones(2)) + raw + _torch_save(torch.zeros(3))
    )
    result = scan_files([(tmp_path / "__0_0.distcp", "__0_0.distcp")])
    assert result.findings == []


@functools.cache
def _item() -> bytes:
    return _torch_save(torch.ones(1))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([b"PK\x05\x06", b"PK\x03\x04", b"\x80\x04", b"\x00" * 7, b"."])))
def test_any_shard_bytes_give_a_verdict(parts: list[bytes]) -> None:
    ctx = ScanContext(path="__0_0.distcp", policy=DeferredPolicy(), scan_nested=scan_source)
    for data in (b"".join(parts), b"".join(parts) + _item(), _item() + b"".join(parts)):
        scan_source(BytesSource(data), ctx)
    assert all(f.rule != "scanner-error" for f in ctx.findings)


def test_a_cached_metadata_scan_never_stands_in_for_another_pickle() -> None:
    from checks.cache import cache_key

    sha = "ab" * 32
    assert cache_key(sha, "", "ck/.metadata") == cache_key(sha, "", "other/.metadata")
    assert cache_key(sha, "", "ck/.metadata") != cache_key(sha, "", "ck/state")
