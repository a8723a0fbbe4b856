"""HDF5 files parsed by h5py in a contained child process: real files, and children that die."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest

from checks.findings import Severity
from checks.io.source import BytesSource, LocalFile
from checks.weights.context import ScanContext
from checks.weights.hdf5 import scan_hdf5
from checks.weights.limits import Limits
from checks.weights.scanner import scan_path

LAMBDA_MODEL = {
    "class_name": "Functional",
    "config": {
        "name": "model",
        "layers": [
            {
                "class_name": "Lambda",
                "config": {"name": "sneaky", "function": ["4wEAAAAAAAAA", None, None]},
            }
        ],
    },
}


def write_h5(path: Path, model_config: str | None) -> Path:
    with h5py.File(path, "w") as handle:
        if model_config is not None:
            handle.attrs["model_config"] = model_config
        handle.create_group("model_weights").create_dataset("w", data=np.zeros((2, 2)))
    return path


def scan_file(path: Path, limits: Limits | None = None) -> ScanContext:
    ctx = ScanContext(path="m.h5", policy=None, limits=limits or Limits())
    with LocalFile(path) as source:
        scan_hdf5(source, ctx)
    return ctx


def rules(ctx: ScanContext) -> list[tuple[str, Severity]]:
    return [(f.rule, f.severity) for f in ctx.findings]


def test_real_h5_lambda_is_found_through_the_child(tmp_path: Path) -> None:
    ctx = scan_file(write_h5(tmp_path / "m.h5", json.dumps(LAMBDA_MODEL)))
    assert rules(ctx) == [("keras-lambda", Severity.CRITICAL)]
    assert "'sneaky'" in ctx.findings[0].message


def test_in_memory_h5_is_copied_for_the_child(tmp_path: Path) -> None:
    data = write_h5(tmp_path / "m.h5", json.dumps(LAMBDA_MODEL)).read_bytes()
    ctx = ScanContext(path="m.h5", policy=None)
    scan_hdf5(BytesSource(data), ctx)
    assert rules(ctx) == [("keras-lambda", Severity.CRITICAL)]


def test_child_over_its_memory_cap_is_a_crash_finding(tmp_path: Path) -> None:
    # 32 MiB of address space is too little for h5py: the child dies, the scan goes on.
    path = write_h5(tmp_path / "m.h5", json.dumps(LAMBDA_MODEL))
    ctx = scan_file(path, replace(Limits(), hdf5_memory_bytes=32 << 20))
    assert rules(ctx) == [("hdf5-parser-crash", Severity.HIGH)]
    assert "crashed" in ctx.findings[0].message
    assert "not inspected" in ctx.findings[0].message


def test_child_out_of_time_is_a_crash_finding(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "m.h5", json.dumps(LAMBDA_MODEL))
    ctx = scan_file(path, replace(Limits(), hdf5_timeout_s=0.01))
    assert rules(ctx) == [("hdf5-parser-crash", Severity.HIGH)]
    assert "0.01 s" in ctx.findings[0].message


def test_oversized_config_stops_at_the_bound(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "m.h5", json.dumps(LAMBDA_MODEL))
    result = scan_path(path, "m.h5", policy=None, limits=replace(Limits(), max_config_bytes=10))
    assert [(f.rule, f.severity) for f in result.findings] == [("limit-exceeded", Severity.HIGH)]


def test_child_ignores_a_hostile_module_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "h5py.py").write_text("raise SystemExit(9)\n")
    monkeypatch.chdir(tmp_path)
    ctx = scan_file(write_h5(tmp_path / "m.h5", json.dumps(LAMBDA_MODEL)))
    assert rules(ctx) == [("keras-lambda", Severity.CRITICAL)]
